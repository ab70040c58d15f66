"""Demo steps of the sales app; each part keeps its own in `<part>/demo.py`."""

from .deals import demo as _deals  # noqa: F401
from .opportunities import demo as _opportunities  # noqa: F401
