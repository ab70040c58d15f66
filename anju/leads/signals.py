"""News the leads app sends upward (ARCHITECTURE.md: a lower app never imports a higher one).

`lead_converted(sender=Lead, lead=..., customer=..., project=..., user=...)` is sent when a
lead's conversion commits; the sales app connects to it and opens the opportunity."""

from django.dispatch import Signal

lead_converted = Signal()
