"""What the customer-service app contributes to the shell; each part keeps its own entries."""

from .care import registrations as _care  # noqa: F401
from .tickets import registrations as _tickets  # noqa: F401
