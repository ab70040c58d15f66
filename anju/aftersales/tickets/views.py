"""Pages of tickets: the agent's queue, reception with the library pickers, the detail with
its timeline and actions, the worker's tasks, the library admin and import, the quality page.

Thin: parse with a form, call a selector or a service, render; refusals come back as a
message naming the field or the reason, never a 500."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from anju.accounts.models import Project, Team, User
from anju.aftersales.models import (
    Component,
    Location,
    ProblemCategory,
    TicketPhoto,
    TicketStatus,
    TicketType,
    TicketUrgency,
    WarrantyPeriod,
)
from anju.core.forms import apply_service_errors

from . import library, reports, selectors, services
from .calendar import SHANGHAI
from .flows import IllegalMove, action_label, flow_for
from .forms import DispatchForm, LibraryImportForm, NoteForm, ReceptionForm, ScoreForm
from .importing import library_import


def _staff_only(request: HttpRequest) -> None:
    if not selectors.is_service_staff(request.user):
        raise PermissionDenied


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- queue


@login_required
@require_GET
def ticket_queue(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    filters = selectors.QueueFilters(
        ticket_type=request.GET.get("type", "") if request.GET.get("type") in
        TicketType.values else "",
        status=request.GET.get("status", "") if request.GET.get("status") in
        TicketStatus.values else "",
        urgency=request.GET.get("urgency", "") if request.GET.get("urgency") in
        TicketUrgency.values else "",
        project_id=_int(request.GET.get("project")),
        breached_only=request.GET.get("breached") == "1",
        query=(request.GET.get("q") or "").strip()[:50])
    after = None
    if request.GET.get("after_id"):
        due_raw = request.GET.get("after_due") or ""
        try:
            due = dt.datetime.fromisoformat(due_raw) if due_raw else None
        except ValueError:
            due = None
        after = (due, _int(request.GET.get("after_id")) or 0)
    rows = selectors.ticket_queue(viewer=request.user, filters=filters, after=after,
                                  limit=selectors.QUEUE_PAGE + 1)
    more = len(rows) > selectors.QUEUE_PAGE
    rows = rows[:selectors.QUEUE_PAGE]
    now = timezone.now()
    next_query = ""
    if more:
        last = rows[-1]
        params = request.GET.copy()
        params["after_id"] = str(last.pk)
        params["after_due"] = last.next_due.isoformat() if last.next_due else ""
        next_query = params.urlencode()
    return render(request, "aftersales/tickets/queue.html", {
        "rows": rows, "now": now, "filters": filters, "next_query": next_query,
        "types": TicketType.choices, "statuses": [
            (s, label) for s, label in TicketStatus.choices if s in selectors.OPEN_STATUSES],
        "urgencies": TicketUrgency.choices,
        "projects": Project.objects.visible_to(request.user).order_by("name")})


# ---------------------------------------------------------------- reception


def _picker_context(user, data) -> dict:
    """The choices of the reception pickers narrowed by what is chosen so far: project →
    units and locations; location → components; component → categories (and warranty);
    category → common descriptions.

    Every picker is drawn with the value the request chose, as long as it is still among its
    options (a unit of another project, a component not found at the location are dropped,
    and what hangs on them with it): the page redraws all pickers from one request that
    carries every choice, so a redraw never takes back a choice the user made."""
    projects = list(Project.objects.visible_to(user).order_by("name")
                    .only("id", "name", "company_id"))
    project_id = _int(data.get("project"))
    project = next((p for p in projects if p.pk == project_id), None)
    if project is None and len(projects) == 1:
        project = projects[0]
    requested = {k: _int(data.get(k)) for k in (
        "unit", "customer", "location", "component", "category", "description_ref")}
    chosen = dict.fromkeys(requested)
    context = {"projects": projects, "project": project, "units": [], "owners": [],
               "locations": [], "components": [], "categories": [], "descriptions": [],
               "chosen": chosen, "warranty": None,
               "ticket_type": data.get("ticket_type") or TicketType.REPAIR}
    if project is None:
        return context
    from anju.property.models import Unit
    from anju.sales.models import Deal

    context["units"] = list(Unit.objects.filter(building__project=project)
                            .select_related("building").order_by("building__code", "label")
                            .only("id", "label", "number", "building__name")[:3000])
    if any(u.pk == requested["unit"] for u in context["units"]):
        chosen["unit"] = requested["unit"]
        context["owners"] = list(
            Deal.objects.filter(unit_id=chosen["unit"], project=project)
            .exclude(status__in=["cancelled", "swapped", "expired"])
            .select_related("customer").order_by("-id"))
        owner_ids = [d.customer_id for d in context["owners"]]
        if owner_ids:  # the chosen owner, else the latest deal's
            chosen["customer"] = (requested["customer"] if requested["customer"] in owner_ids
                                  else owner_ids[0])
    context["locations"] = list(Location.objects.filter(
        company_id=project.company_id, active=True, bindings__project=project))
    if any(loc.pk == requested["location"] for loc in context["locations"]):
        chosen["location"] = requested["location"]
    context["components"] = list(library.components_for_location(
        company_id=project.company_id, location_id=chosen["location"])
        .select_related("parent"))
    component = next((c for c in context["components"] if c.pk == requested["component"]),
                     None)
    if component is None:
        return context
    chosen["component"] = component.pk
    context["categories"] = list(component.categories.filter(active=True))
    context["warranty"] = library.warranty_verdict(
        component=component, unit_id=chosen["unit"], ticket_type=context["ticket_type"],
        on=timezone.now().astimezone(SHANGHAI).date())
    if not any(c.pk == requested["category"] for c in context["categories"]):
        return context
    chosen["category"] = requested["category"]
    context["descriptions"] = list(library.descriptions_for(
        category_id=chosen["category"], component_id=component.pk)[:50])
    if any(d.pk == requested["description_ref"] for d in context["descriptions"]):
        chosen["description_ref"] = requested["description_ref"]
    return context


@login_required
@require_GET
def reception_pickers(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    return render(request, "aftersales/tickets/_pickers.html",
                  _picker_context(request.user, request.GET))


@login_required
@require_http_methods(["GET", "POST"])
def ticket_new(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    data = request.POST if request.method == "POST" else request.GET
    form = ReceptionForm(request.POST or None, request.FILES or None,
                         initial={"ticket_type": data.get("ticket_type") or "repair"})
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        try:
            ticket = services.ticket_create(
                actor=request.user, customer_id=values["customer"], unit_id=values["unit"],
                project_id=values["project"], public_area=values["public_area"],
                location_id=values["location"], component_id=values["component"],
                category_id=values["category"], description_id=values["description_ref"],
                description=values["description"], urgency=values["urgency"],
                ticket_type=values["ticket_type"], channel=values["channel"],
                photos=request.FILES.getlist("photos"), first_line=values["first_line"])
        except ValidationError as error:
            apply_service_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error) or _("You may not do this."))
        else:
            messages.success(request, _("Ticket %(number)s received.") % {
                "number": ticket.number})
            return redirect("aftersales:ticket_detail", pk=ticket.pk)
    return render(request, "aftersales/tickets/new.html", {
        "form": form, **_picker_context(request.user, data)})


# ---------------------------------------------------------------- detail and actions


@login_required
@require_GET
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = selectors.ticket_get(viewer=request.user, ticket_id=pk)
    flow = flow_for(ticket.ticket_type)
    staff = selectors.is_service_staff(request.user)
    actions = [a for a in flow.actions_from(ticket.status)
               if staff or (ticket.assignee_user_id == request.user.pk
                            and a in WORKER_ACTIONS)]
    if ticket.sla_paused_at is None:
        actions = [a for a in actions if a != "resume"]
    else:
        actions = [a for a in actions if a != "wait_owner"]
    teams = list(Team.objects.visible_to(request.user).order_by("name")) if staff else []
    workers = (list(User.objects.visible_to(request.user).filter(is_active=True)
                    .order_by("username")[:200]) if staff else [])
    return render(request, "aftersales/tickets/detail.html", {
        "ticket": ticket, "flow": flow, "now": timezone.now(),
        "events": selectors.ticket_timeline(ticket=ticket),
        "photos": selectors.ticket_photos(ticket=ticket),
        "actions": [(a, action_label(a)) for a in actions],
        "teams": teams, "workers": workers, "staff": staff,
        "callback": selectors.ticket_callback_of_round(ticket=ticket)})


WORKER_ACTIONS = ("accept", "start", "complete", "wait_owner", "resume", "note")


def _run_action(request, pk: int, action: str):
    post, files = request.POST, request.FILES
    actor = request.user
    if action in ("dispatch", "redispatch"):
        form = DispatchForm(post)
        if not form.is_valid():
            raise ValidationError(form.errors.get_json_data() and {
                k: [e["message"] for e in v] for k, v in form.errors.get_json_data().items()})
        v = form.cleaned_data
        fn = services.ticket_dispatch if action == "dispatch" else services.ticket_redispatch
        return fn(actor=actor, ticket_id=pk, user_id=v["user"], team_id=v["team"],
                  contractor=v["contractor"], deadline=v["deadline"], note=v["note"])
    if action == "callback":
        form = ScoreForm(post)
        if not form.is_valid():
            raise ValidationError({"score": [_("Give a score from 1 to 5.")]})
        return services.ticket_callback(actor=actor, ticket_id=pk,
                                        score=form.cleaned_data["score"],
                                        comment=form.cleaned_data["comment"])
    note = NoteForm(post)
    note.is_valid()
    text = note.cleaned_data.get("note", "")
    simple = {
        "task": lambda: services.ticket_task(actor=actor, ticket_id=pk, note=text),
        "accept": lambda: services.ticket_accept(actor=actor, ticket_id=pk, note=text),
        "start": lambda: services.ticket_start(actor=actor, ticket_id=pk, note=text),
        "complete": lambda: services.ticket_complete(actor=actor, ticket_id=pk, note=text,
                                                     photos=files.getlist("photos")),
        "confirm": lambda: services.ticket_confirm(actor=actor, ticket_id=pk, on_behalf=True,
                                                   note=text),
        "reject": lambda: services.ticket_reject(actor=actor, ticket_id=pk, reason=text),
        "close": lambda: services.ticket_close(actor=actor, ticket_id=pk, note=text),
        "reopen": lambda: services.ticket_reopen(actor=actor, ticket_id=pk, reason=text),
        "wait_owner": lambda: services.ticket_wait_owner(actor=actor, ticket_id=pk,
                                                         reason=text),
        "resume": lambda: services.ticket_resume(actor=actor, ticket_id=pk, note=text),
        "cancel": lambda: services.ticket_cancel(actor=actor, ticket_id=pk, reason=text),
        "note": lambda: services.ticket_note(actor=actor, ticket_id=pk, note=text,
                                             photos=files.getlist("photos")),
        "transfer": lambda: services.ticket_transfer(
            actor=actor, ticket_id=pk, team_id=_int(post.get("team")),
            agent_id=_int(post.get("agent")), reason=text),
        "hand_over": lambda: services.ticket_hand_over(
            actor=actor, ticket_id=pk, team_id=_int(post.get("team")) or 0, note=text),
        "merge": lambda: services.ticket_merge(actor=actor, ticket_id=pk,
                                               into_id=_merge_target(actor, post), note=text),
    }
    if action not in simple:
        raise Http404
    return simple[action]()


def _merge_target(actor, post) -> int:
    raw = (post.get("into") or "").strip().upper()
    row = selectors.ticket_visible_to(actor).filter(number=raw).values_list("pk", flat=True)
    found = row.first() or _int(raw)
    if not found:
        raise ValidationError({"into": [_("Give the number of the ticket to keep.")]})
    return found


def _error_text(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(f"{name}: {' '.join(str(m) for m in msgs.messages if True)}"
                         if hasattr(msgs, "messages") else f"{name}: {msgs}"
                         for name, msgs in ((k, ValidationError(v)) for k, v in
                                            error.error_dict.items()))
    return " ".join(error.messages)


@login_required
@require_POST
def ticket_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    selectors.ticket_get(viewer=request.user, ticket_id=pk)  # 404 outside the view
    try:
        _run_action(request, pk, action)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    except IllegalMove as error:
        messages.error(request, error.message)
    except PermissionDenied as error:
        messages.error(request, str(error) or _("You may not do this."))
    else:
        messages.success(request, action_label(action))
    back = request.POST.get("next") or ""
    if back == "my_tasks":
        return redirect("aftersales:my_tasks")
    return redirect("aftersales:ticket_detail", pk=pk)


@login_required
@require_GET
def ticket_photo(request: HttpRequest, pk: int) -> FileResponse:
    """A ticket's photo for those who may see the ticket (storage API, never a public
    media folder)."""
    photo = (TicketPhoto.objects.filter(
        pk=pk, ticket__in=selectors.ticket_visible_to(request.user))
        .only("id", "image").first())
    if photo is None:
        raise Http404
    try:
        handle = photo.image.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    content_type = "image/png" if photo.image.name.endswith(".png") else "image/jpeg"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- worker


@login_required
@require_GET
def my_tasks(request: HttpRequest) -> HttpResponse:
    return render(request, "aftersales/tickets/my_tasks.html", {
        "rows": selectors.worker_tasks(worker=request.user), "now": timezone.now()})


# ---------------------------------------------------------------- library admin


def _library_company_ids(user) -> list[int]:
    return list(Project.objects.visible_to(user).values_list("company_id", flat=True)
                .distinct())


@login_required
@require_GET
def library_page(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    company_ids = _library_company_ids(request.user)
    components = list(Component.objects.filter(company_id__in=company_ids)
                      .select_related("parent", "warranty")
                      .prefetch_related("categories", "locations")
                      .order_by("company_id", "parent_id", "order", "name"))
    roots = [c for c in components if c.parent_id is None]
    children: dict[int, list] = {}
    for c in components:
        if c.parent_id:
            children.setdefault(c.parent_id, []).append(c)
    tree = [(root, children.get(root.pk, [])) for root in roots]
    return render(request, "aftersales/tickets/library.html", {
        "tree": tree,
        "locations": list(Location.objects.filter(company_id__in=company_ids)
                          .prefetch_related("projects")),
        "categories": list(ProblemCategory.objects.filter(company_id__in=company_ids)
                           .prefetch_related("descriptions")),
        "warranties": list(WarrantyPeriod.objects.filter(
            component__company_id__in=company_ids).select_related("component")),
        "may_manage": selectors.is_service_manager(request.user),
        "import_form": LibraryImportForm()})


@login_required
@require_http_methods(["GET", "POST"])
def library_import_page(request: HttpRequest) -> HttpResponse:
    if not selectors.is_service_manager(request.user):
        raise PermissionDenied
    form = LibraryImportForm(request.POST or None, request.FILES or None)
    result = None
    companies = _library_company_ids(request.user)
    if request.method == "POST" and form.is_valid():
        company_id = _int(request.POST.get("company")) or (companies[0] if companies else None)
        if company_id not in companies:
            form.add_error(None, _("Choose a company in your scope."))
        else:
            try:
                result = library_import(actor=request.user, company_id=company_id,
                                        upload=form.cleaned_data["file"])
            except ValidationError as error:
                apply_service_errors(form, error)
    return render(request, "aftersales/tickets/library_import.html", {
        "form": form, "result": result})


# ---------------------------------------------------------------- quality


def _quality_params(request):
    month = (request.GET.get("month") or "").strip()
    today = timezone.now().astimezone(SHANGHAI).date()
    try:
        year, mon = (int(x) for x in month.split("-")) if month else (today.year, today.month)
        start = dt.date(year, mon, 1)
    except (TypeError, ValueError):
        start = today.replace(day=1)
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start, end, _int(request.GET.get("project"))


@login_required
@require_GET
def quality_page(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    start, end, project_id = _quality_params(request)
    report = reports.quality_report(viewer=request.user, start=start, end=end,
                                    project_id=project_id)
    return render(request, "aftersales/tickets/quality.html", {
        "report": report, "month": f"{start:%Y-%m}", "project_id": project_id,
        "projects": Project.objects.visible_to(request.user).order_by("name"),
        "chart_url": reverse("aftersales:quality_chart") + "?" + request.GET.urlencode()})


@login_required
@require_GET
def quality_chart(request: HttpRequest) -> JsonResponse:
    _staff_only(request)
    start, end, project_id = _quality_params(request)
    report = reports.quality_report(viewer=request.user, start=start, end=end,
                                    project_id=project_id)
    return JsonResponse(reports.quality_chart_option(report))


@login_required
@require_GET
def quality_export(request: HttpRequest, fmt: str) -> HttpResponse:
    _staff_only(request)
    start, end, project_id = _quality_params(request)
    report = reports.quality_report(viewer=request.user, start=start, end=end,
                                    project_id=project_id)
    if fmt == "xlsx":
        body = reports.quality_xlsx(report)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    elif fmt == "pdf":
        body = reports.quality_pdf(report)
        content_type = "application/pdf"
    else:
        raise Http404
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="quality-{start:%Y-%m}.{fmt}"'
    return response
