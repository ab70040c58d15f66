"""Demo steps of the customer-service app; each part keeps its own in `<part>/demo.py`."""

from .care import demo as _care  # noqa: F401
from .tickets import demo as _tickets  # noqa: F401
