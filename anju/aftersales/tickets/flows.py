"""Each ticket type's flow, as data read by one engine (`services._move`).

A flow names, per action, the statuses it may start from and the status it leads to (None:
the status stays, e.g. a transfer). The services call `check(ticket, action)`, which refuses
an action the type does not know or the current status does not allow, with a reason the user
reads. The full path is 接待 received → 任务 tasked → 派单 dispatched → accepted → in progress
→ completed → 确认 confirmed → 关闭 closed → 回访 called back; reopening goes back to tasked."""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from anju.aftersales.models import TicketStatus as S
from anju.aftersales.models import TicketType as T

OPEN = frozenset({S.RECEIVED, S.TASKED, S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS, S.COMPLETED,
                  S.CONFIRMED})
WORKING = frozenset({S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS})


@dataclass(frozen=True)
class Flow:
    ticket_type: str
    moves: dict[str, tuple[frozenset, str | None]]
    callback_required: bool
    owner_confirms: bool = True
    # praise: dispatching routes the ticket to the praised team, nobody works on it
    route_to_praised_team: bool = False
    first_line: bool = False
    notes: tuple[str, ...] = field(default=())

    def allows(self, action: str, status: str) -> bool:
        move = self.moves.get(action)
        return move is not None and status in move[0]

    def target(self, action: str, status: str) -> str:
        to = self.moves[action][1]
        return status if to is None else to

    def actions_from(self, status: str) -> list[str]:
        return [action for action, (sources, _to) in self.moves.items() if status in sources]


def _work_moves(*, confirm: bool) -> dict[str, tuple[frozenset, str | None]]:
    moves: dict[str, tuple[frozenset, str | None]] = {
        "task": (frozenset({S.RECEIVED}), S.TASKED),
        "dispatch": (frozenset({S.RECEIVED, S.TASKED}), S.DISPATCHED),
        "redispatch": (WORKING, S.DISPATCHED),
        "accept": (frozenset({S.DISPATCHED}), S.ACCEPTED),
        "start": (frozenset({S.ACCEPTED}), S.IN_PROGRESS),
        "complete": (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.COMPLETED),
        "confirm": (frozenset({S.COMPLETED}), S.CONFIRMED),
        "reject": (frozenset({S.COMPLETED}), S.DISPATCHED),
        "close": (frozenset({S.CONFIRMED}), S.CLOSED),
        "callback": (frozenset({S.CLOSED}), S.CALLED_BACK),
        "reopen": (frozenset({S.CLOSED, S.CALLED_BACK}), S.TASKED),
        "transfer": (OPEN - {S.COMPLETED, S.CONFIRMED}, None),
        "wait_owner": (OPEN - {S.COMPLETED, S.CONFIRMED}, None),
        "resume": (OPEN, None),
        "merge": (OPEN - {S.CONFIRMED}, S.MERGED),
        "cancel": (OPEN - {S.CONFIRMED}, S.CANCELLED),
        "note": (OPEN | {S.CLOSED, S.CALLED_BACK}, None),
    }
    if not confirm:
        # nobody outside to confirm: the agent closes straight from completed
        moves["close"] = (frozenset({S.COMPLETED, S.CONFIRMED}), S.CLOSED)
    return moves


FLOWS: dict[str, Flow] = {
    T.REPAIR: Flow(T.REPAIR, _work_moves(confirm=True), callback_required=True),
    T.SELF_INSPECTION: Flow(T.SELF_INSPECTION, _work_moves(confirm=False),
                            callback_required=False, owner_confirms=False),
    T.COMPLAINT: Flow(T.COMPLAINT, {
        **_work_moves(confirm=True),
        # 一线处理: headquarters hands the complaint to the project's team
        "hand_over": (frozenset({S.RECEIVED, S.TASKED}), S.TASKED),
    }, callback_required=True, first_line=True),
    T.CONSULTATION: Flow(T.CONSULTATION, {
        "task": (frozenset({S.RECEIVED}), S.TASKED),
        "dispatch": (frozenset({S.RECEIVED, S.TASKED}), S.DISPATCHED),
        "close": (frozenset({S.RECEIVED, S.TASKED, S.DISPATCHED}), S.CLOSED),
        "callback": (frozenset({S.CLOSED}), S.CALLED_BACK),
        "reopen": (frozenset({S.CLOSED, S.CALLED_BACK}), S.TASKED),
        "transfer": (frozenset({S.RECEIVED, S.TASKED, S.DISPATCHED}), None),
        "merge": (frozenset({S.RECEIVED, S.TASKED, S.DISPATCHED}), S.MERGED),
        "cancel": (frozenset({S.RECEIVED, S.TASKED, S.DISPATCHED}), S.CANCELLED),
        "note": (OPEN | {S.CLOSED, S.CALLED_BACK}, None),
    }, callback_required=False, owner_confirms=False),
    T.PRAISE: Flow(T.PRAISE, {
        "dispatch": (frozenset({S.RECEIVED}), S.DISPATCHED),
        "close": (frozenset({S.RECEIVED, S.DISPATCHED}), S.CLOSED),
        "merge": (frozenset({S.RECEIVED, S.DISPATCHED}), S.MERGED),
        "cancel": (frozenset({S.RECEIVED, S.DISPATCHED}), S.CANCELLED),
        "note": (OPEN | {S.CLOSED}, None),
    }, callback_required=False, owner_confirms=False, route_to_praised_team=True),
}


class IllegalMove(Exception):
    """An action the ticket's type or status does not allow; `str()` tells the user why."""

    def __init__(self, message: str, code: str = "illegal_move") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def flow_for(ticket_type: str) -> Flow:
    return FLOWS[ticket_type]


def action_label(action: str) -> str:
    labels = {
        "create": _("received"), "task": _("task created"), "dispatch": _("dispatched"),
        "redispatch": _("dispatched again"), "accept": _("accepted"),
        "start": _("work started"), "complete": _("work completed"),
        "confirm": _("confirmed"), "reject": _("work not accepted"), "close": _("closed"),
        "callback": _("called back"), "rate": _("rated by the owner"),
        "reopen": _("reopened"), "transfer": _("transferred"),
        "wait_owner": _("waiting on the owner"), "resume": _("clock running again"),
        "merge": _("merged into another ticket"), "absorb": _("duplicate merged in"),
        "cancel": _("cancelled"), "note": _("note"), "hand_over": _("handed to the project"),
        "warn": _("deadline near"), "escalate": _("escalated"), "photo": _("photo added"),
    }
    return str(labels.get(action, action))


def check(ticket, action: str) -> str:
    """The status the action leads to, or IllegalMove with the reason."""
    flow = flow_for(ticket.ticket_type)
    if action not in flow.moves:
        raise IllegalMove(_("A %(type)s ticket cannot be %(action)s.") % {
            "type": ticket.get_ticket_type_display(), "action": action_label(action)},
            code="not_in_flow")
    if not flow.allows(action, ticket.status):
        raise IllegalMove(_("The ticket is %(status)s: it cannot be %(action)s now.") % {
            "status": ticket.get_status_display(), "action": action_label(action)},
            code="wrong_status")
    return flow.target(action, ticket.status)
