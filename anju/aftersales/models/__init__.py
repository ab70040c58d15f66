"""The customer-service app's models, one module per part: tickets (problem library, flow,
SLA, calendars) and care (knowledge base, surveys, handover). Django finds them here."""

from .care import *  # noqa: F403
from .tickets import *  # noqa: F403
