"""Permissions as predicates (django-rules), autodiscovered by rules.apps.AutodiscoverRulesConfig.

Rights come from the user's role (data, configurable: `Role.can_*`); these predicates only
name them so views, templates (`{% has_perm %}`) and DRF can ask one question."""

import rules


def _right(right: str):
    @rules.predicate(name=f"may_{right}")
    def predicate(user) -> bool:
        return bool(getattr(user, "is_authenticated", False)) and user.may(right)

    return predicate


may_unmask = _right("unmask")
may_export = _right("export")
may_approve_exports = _right("approve_exports")
may_manage_users = _right("manage_users")
may_read_audit = _right("read_audit")
may_edit_organisation = _right("edit_organisation")


@rules.predicate
def is_self(user, other) -> bool:
    return other is not None and getattr(user, "pk", None) == getattr(other, "pk", None)


rules.add_perm("accounts.view_user_list", may_manage_users)
rules.add_perm("accounts.change_user", may_manage_users)
rules.add_perm("accounts.disable_user", may_manage_users & ~is_self)
rules.add_perm("accounts.add_project", may_edit_organisation)
rules.add_perm("accounts.change_project", may_edit_organisation)
rules.add_perm("accounts.add_company", may_edit_organisation)
rules.add_perm("accounts.add_team", may_edit_organisation | may_manage_users)
rules.add_perm("accounts.export_project", may_export)
