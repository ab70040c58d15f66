"""News the property app sends upward (ARCHITECTURE.md: signals carry news, not rules).

`unit_status_changed` is sent once the transaction that moved a unit has committed, with
keyword arguments `unit` (the fresh `Unit`), `from_status`, `to_status` and `reference`
(what caused the move, e.g. "deal:123"; "" for sales control). Receivers must not write
unit state: they react (notify, refresh a score) and, if they write, do it in their own
service call."""

from django.dispatch import Signal

unit_status_changed = Signal()
