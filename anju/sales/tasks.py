"""Background jobs of the sales app; the scheduler imports this module (`<app>.tasks`), so
each part's periodic tasks are imported here."""

from .deals import tasks as deals_tasks  # noqa: F401  (cron discovery)
