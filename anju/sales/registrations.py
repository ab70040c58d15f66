"""What the sales app contributes to the shell; each part keeps its own entries."""

from .deals import registrations as _deals  # noqa: F401
from .opportunities import registrations as _opportunities  # noqa: F401
