"""The nine roles of ARCHITECTURE.md with their default rights; admins may change them later."""

from django.db import migrations

ROLE_DEFAULTS = {
    # code: (default_scope, unmask, export, approve_exports, manage_users, read_audit, edit_org)
    "sales_consultant": ("own", True, False, False, False, False, False),
    "sales_manager": ("project", True, True, True, False, False, False),
    "channel_agent": ("own", False, False, False, False, False, False),
    "marketing": ("project", False, True, False, False, False, False),
    "service_agent": ("project", True, False, False, False, False, False),
    "service_manager": ("project", True, True, True, False, False, False),
    "executive": ("company", False, True, False, False, False, False),
    "admin": ("all", True, True, True, True, True, True),
    "auditor": ("all", False, False, False, False, True, False),
}


def seed_roles(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for code, values in ROLE_DEFAULTS.items():
        scope, unmask, export, approve, manage, audit, org = values
        Role.objects.update_or_create(
            code=code,
            defaults={
                "default_scope": scope,
                "can_unmask": unmask,
                "can_export": export,
                "can_approve_exports": approve,
                "can_manage_users": manage,
                "can_read_audit": audit,
                "can_edit_organisation": org,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(seed_roles, migrations.RunPython.noop)]
