"""The sales app's models, one module per part: deals (reservation, contract, payments) and
opportunities (stages, quotes). Django finds them here."""

from .deals import *  # noqa: F403
from .opportunities import *  # noqa: F403
