"""The owner portal's pages (mobile first). Thin: every read goes through `selectors`
(the owner's own rows only), every write through a service; ticket writes through the
tickets part's services with the owner as actor and their customer id."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from anju.aftersales.care import selectors as care_selectors
from anju.aftersales.care import services as care
from anju.aftersales.care.services import CareError
from anju.aftersales.models import TicketPhoto
from anju.aftersales.tickets import services as tickets
from anju.aftersales.tickets.flows import IllegalMove
from anju.aftersales.tickets.selectors import ticket_photos, ticket_timeline
from anju.leads.ratelimit import client_ip

from . import selectors, services
from .auth import owner_from_request, owner_required, owner_sign_in, owner_sign_out, safe_next
from .services import PortalError

FILE_TYPES = ("repair", "complaint")
# The steps an owner sees, in order (other statuses map onto them).
STEPS = (
    ("received", pgettext_lazy("owner ticket step", "received"), ("received", "tasked")),
    ("dispatched", pgettext_lazy("owner ticket step", "dispatched"), ("dispatched", "accepted")),
    ("working", pgettext_lazy("owner ticket step", "being repaired"), ("in_progress",)),
    ("completed", pgettext_lazy("owner ticket step", "waiting for your confirmation"),
     ("completed",)),
    ("confirmed", pgettext_lazy("owner ticket step", "confirmed"), ("confirmed",)),
    ("closed", pgettext_lazy("owner ticket step", "closed"), ("closed", "called_back")),
)


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


# --- sign in ------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    if request.method == "GET" and owner_from_request(request):
        return redirect("portal:home")
    context: dict = {"phone": request.POST.get("phone", ""), "errors": {}, "message": "",
                     "next": request.POST.get("next") or request.GET.get("next", ""),
                     "mode": request.POST.get("mode") or request.GET.get("mode") or "code"}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "send":
                services.otp_request(phone=context["phone"], address=client_ip(request))
                context["message"] = _("If this number belongs to an owner account, a code "
                                       "is on its way by SMS.")
                context["code_sent"] = True
            elif action in ("code", "password"):
                if action == "code":
                    owner = services.otp_verify(phone=context["phone"],
                                                code=request.POST.get("code", ""))
                else:
                    owner = services.owner_password_sign_in(
                        phone=context["phone"], password=request.POST.get("password", ""),
                        address=client_ip(request))
                response = redirect(safe_next(request, reverse("portal:home")))
                owner_sign_in(request, response, owner)
                return response
            else:
                raise ValidationError({"phone": [_("Choose how to sign in.")]})
        except ValidationError as exc:
            context["errors"] = _errors(exc)
            context["code_sent"] = action == "code"
            status = 400
        except PortalError as exc:
            context["errors"] = {"phone": [exc.message]}
            status = 429 if exc.code == "rate_limited" else 400
    return render(request, "portal/login.html", context, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    response = redirect("portal:login")
    owner_sign_out(request, response)
    return response


# --- home ---------------------------------------------------------------------------------------
@owner_required
def home(request: HttpRequest) -> HttpResponse:
    owner = request.owner
    return render(request, "portal/home.html", {
        "owner": owner, "units": selectors.owner_units(owner=owner),
        "tickets": list(selectors.owner_tickets(owner=owner)[:20]),
        "surveys": [i for i in selectors.owner_invitations(owner=owner)[:10]
                    if i.answered_at is None],
        "handovers": list(selectors.owner_handovers(owner=owner))})


# --- tickets ------------------------------------------------------------------------------------
def _problems(units) -> tuple[list, list]:
    """Rooms and problems of the owner's projects' problem library."""
    company_ids = {u.building.project.company_id for u in units}
    project_ids = {u.building.project_id for u in units}
    return (care_selectors.room_locations(company_ids=company_ids, project_ids=project_ids),
            care_selectors.problem_choices(company_ids=company_ids))


@owner_required
@require_http_methods(["GET", "POST"])
def ticket_new(request: HttpRequest) -> HttpResponse:
    owner = request.owner
    units = selectors.owner_units(owner=owner)
    locations, problems = _problems(units)
    data = request.POST if request.method == "POST" else {}
    errors: dict = {}
    if request.method == "POST":
        try:
            kind = data.get("ticket_type") if data.get("ticket_type") in FILE_TYPES else ""
            if not kind:
                raise ValidationError({"ticket_type": [_("Choose repair or complaint.")]})
            unit = next((u for u in units if str(u.pk) == data.get("unit")), None)
            if unit is None:
                raise ValidationError({"unit": [_("Choose one of your units.")]})
            component_id, category_id = care_selectors.parse_problem(data.get("problem", ""))
            if kind == "repair" and not component_id:
                raise ValidationError({"problem": [_("Choose what the problem is.")]})
            ticket = tickets.ticket_create(
                actor=owner.user, customer_id=owner.customer_id, unit_id=unit.pk,
                ticket_type=kind, channel="portal",
                location_id=int(data["location"]) if data.get("location", "").isdigit()
                else None,
                component_id=component_id, category_id=category_id,
                description=data.get("description", ""),
                photos=request.FILES.getlist("photos"), on_behalf_of_owner=True)
            return redirect("portal:ticket_detail", ticket.pk)
        except ValidationError as exc:
            errors = _errors(exc)
    return render(request, "portal/ticket_new.html", {
        "units": units, "locations": locations, "problems": problems, "data": data,
        "errors": errors}, status=400 if errors else 200)


def _steps(ticket) -> list[dict]:
    reached = True
    steps = []
    for key, label, statuses in STEPS:
        current = ticket.status in statuses
        steps.append({"key": key, "label": label, "done": reached and not current,
                      "current": current})
        if current:
            reached = False
    if not any(s["current"] for s in steps):
        for s in steps:
            s["done"] = False
    return steps


@owner_required
def ticket_detail(request: HttpRequest, pk: int, *, errors=None, message="",
                  status: int = 200) -> HttpResponse:
    owner = request.owner
    ticket = selectors.owner_ticket_get(owner=owner, ticket_id=pk)
    return render(request, "portal/ticket_detail.html", {
        "ticket": ticket, "steps": _steps(ticket),
        "events": ticket_timeline(ticket=ticket, owner_view=True),
        "photos": ticket_photos(ticket=ticket),
        "may_confirm": ticket.status == "completed",
        "may_rate": ticket.status in ("confirmed", "closed") and ticket.satisfaction is None,
        "errors": errors or {}, "message": message}, status=status)


@owner_required
@require_POST
def ticket_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    owner = request.owner
    ticket = selectors.owner_ticket_get(owner=owner, ticket_id=pk)
    try:
        if action == "confirm":
            tickets.ticket_confirm(actor=owner.user, ticket_id=ticket.pk,
                                   customer_id=owner.customer_id)
        elif action == "reject":
            tickets.ticket_reject(actor=owner.user, ticket_id=ticket.pk, on_behalf=False,
                                  customer_id=owner.customer_id,
                                  reason=request.POST.get("reason", ""))
        elif action == "rate":
            tickets.ticket_rate(actor=owner.user, ticket_id=ticket.pk,
                                score=request.POST.get("score"),
                                comment=request.POST.get("comment", ""),
                                customer_id=owner.customer_id)
        else:
            raise Http404
    except ValidationError as exc:
        return ticket_detail.__wrapped__(request, pk, errors=_errors(exc), status=400)
    except (IllegalMove, PermissionDenied) as exc:
        return ticket_detail.__wrapped__(request, pk, message=str(exc), status=409)
    return redirect("portal:ticket_detail", ticket.pk)


@owner_required
def ticket_photo(request: HttpRequest, pk: int, photo_id: int) -> FileResponse:
    ticket = selectors.owner_ticket_get(owner=request.owner, ticket_id=pk)
    photo = TicketPhoto.objects.filter(ticket=ticket, pk=photo_id).first()
    if photo is None:
        raise Http404
    response = FileResponse(photo.image.open("rb"))
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- surveys ------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def survey_answer(request: HttpRequest, token: str) -> HttpResponse:
    """A survey from its link (the SMS or the portal): the token is the key."""
    invitation = selectors.invitation_by_token(token=token)
    questions = list(invitation.template.questions.all())
    errors: dict = {}
    message = ""
    status = 200
    if request.method == "POST":
        answers = {q.pk: request.POST.get(f"q{q.pk}", "") for q in questions}
        try:
            care.survey_submit(invitation=invitation, answers=answers)
            return render(request, "portal/survey_thanks.html", {"invitation": invitation})
        except ValidationError as exc:
            errors, status = _errors(exc), 400
        except CareError as exc:
            message, status = exc.message, 409
    for q in questions:
        q.error = errors.get(f"q{q.pk}", [])
        q.value = request.POST.get(f"q{q.pk}", "")
        q.range = range(0, 11) if q.kind == "nps" else range(1, 6)
    return render(request, "portal/survey.html", {
        "invitation": invitation, "questions": questions, "message": message,
        "owner": owner_from_request(request)}, status=status)


# --- handover -----------------------------------------------------------------------------------
@owner_required
@require_http_methods(["GET", "POST"])
def handover_book(request: HttpRequest, pk: int) -> HttpResponse:
    owner = request.owner
    handover = selectors.owner_handover_get(owner=owner, handover_id=pk)
    message, status = "", 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "cancel":
                care.handover_cancel_booking(actor=owner.user, handover_id=handover.pk)
                return redirect("portal:handover_book", handover.pk)
            slot_id = int(request.POST.get("slot") or 0)
            care.handover_book(actor=owner.user, handover_id=handover.pk, slot_id=slot_id)
            return redirect("portal:handover_book", handover.pk)
        except ValidationError as exc:
            message, status = " ".join(m for ms in _errors(exc).values() for m in ms), 400
        except ValueError:
            message, status = _("Choose one of this batch's appointment slots."), 400
        except CareError as exc:
            message, status = exc.message, 409
        handover = selectors.owner_handover_get(owner=owner, handover_id=pk)
    return render(request, "portal/handover.html", {
        "handover": handover, "slots": selectors.bookable_slots(handover=handover),
        "message": message}, status=status)
