"""Admin screens of the sales app; each part keeps its own module."""

from .deals import admin as deals_admin  # noqa: F401
