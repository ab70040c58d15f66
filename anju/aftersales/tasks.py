"""Background jobs of customer service; the scheduler imports this module (`<app>.tasks`), so
each part's periodic tasks are imported here."""

from .care import tasks as care_tasks  # noqa: F401  (cron discovery)
from .tickets import tasks as tickets_tasks  # noqa: F401  (cron discovery)
