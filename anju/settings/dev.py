"""The embedded default: one machine, SQLite, the database task queue."""

from .base import *  # noqa: F403
from .env import env_bool

DEBUG = env_bool("ANJU_DEBUG", True)
