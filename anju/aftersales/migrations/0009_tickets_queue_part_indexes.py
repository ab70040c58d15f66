# The agent's queue reads the parts of a scope (each project, the tickets received, those
# dispatched to the viewer) as separate ordered walks of running clocks
# (`anju/aftersales/tickets/selectors.py`, `_queue_parts`): one partial index per part, with
# the same parameter-free condition as `ticket_running_due_idx`, so SQLite matches it too.

from django.db import migrations, models

RUNNING = models.Q(next_due__isnull=False)

INDEXES = [
    models.Index(fields=["project", "next_due", "id"], name="ticket_project_due_idx",
                 condition=RUNNING),
    models.Index(fields=["received_by", "next_due", "id"], name="ticket_received_due_idx",
                 condition=RUNNING),
    models.Index(fields=["assignee_user", "next_due", "id"], name="ticket_assignee_due_idx",
                 condition=RUNNING),
]


class Migration(migrations.Migration):

    dependencies = [
        ("aftersales", "0008_handover_checklists_and_history"),
    ]

    operations = [migrations.AddIndex(model_name="ticket", index=index) for index in INDEXES]
