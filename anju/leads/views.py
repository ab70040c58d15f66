"""The leads pages: the queue, a lead with its history and actions, capture, import,
channels with costs and sources, agencies and registrations, today's roster, rules,
reports (ECharts), and the public showroom QR check-in. Thin: parse, call, render."""

import datetime
import io

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from anju.accounts.models import Project
from anju.core.forms import apply_service_errors
from anju.core.masking import mask_phone
from anju.core.normalise import normalise_phone
from anju.customers.dedup import existing_customer_for

from . import agency, importing, reports, selectors, services
from .forms import (
    QUEUE_STATUSES,
    AgencyForm,
    AgentForm,
    AssignmentRuleForm,
    CaptureForm,
    ChannelForm,
    CheckinForm,
    CostForm,
    GradeOverrideForm,
    GradingRuleForm,
    ImportForm,
    NoteForm,
    ReasonForm,
    ReassignForm,
    RegistrationForm,
    ReportForm,
    RosterForm,
    SourceForm,
)
from .models import Lead, LeadImport, Registration
from .ratelimit import allow, client_ip

CHECKIN_LIMIT_PER_MINUTE = 10
CHECKIN_LIMIT_PER_HOUR = 60


def _int(value) -> int | None:
    try:
        return int(value) or None
    except (TypeError, ValueError):
        return None


def _staff_only(request: HttpRequest) -> None:
    role = getattr(request.user, "role", None)
    if role is not None and role.code == "channel_agent":
        raise PermissionDenied


# --- queue and detail -----------------------------------------------------------------------

@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    view = "team" if request.GET.get("view") == "team" else "mine"
    status = request.GET.get("status", "")
    project_id = _int(request.GET.get("project"))
    before = _int(request.GET.get("before"))
    rows = list(selectors.lead_queue(user=request.user, view=view, status=status,
                                     project_id=project_id, grade=request.GET.get("grade", ""),
                                     before_id=before)[:selectors.PAGE_SIZE + 1])
    more = len(rows) > selectors.PAGE_SIZE
    rows = rows[:selectors.PAGE_SIZE]
    for row in rows:
        row.phone_masked = mask_phone(row.phone)
    context = {"rows": rows, "view": view, "status": status, "statuses": QUEUE_STATUSES,
               "project_id": project_id, "next_before": rows[-1].pk if more else None,
               "projects": Project.objects.visible_to(request.user).order_by("name")}
    if request.headers.get("HX-Request") == "true" and before:
        return render(request, "leads/_queue_rows.html", context)
    return render(request, "leads/queue.html", context)


def _lead_or_404(request: HttpRequest, pk: int) -> Lead:
    try:
        return selectors.lead_detail(user=request.user, lead_id=pk)
    except Lead.DoesNotExist:
        raise Http404 from None


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    _staff_only(request)
    lead = _lead_or_404(request, pk)
    return render(request, "leads/detail.html", _detail_context(request, lead))


def _detail_context(request: HttpRequest, lead: Lead, **forms) -> dict:
    manager = services.is_lead_manager(request.user)
    return {
        "lead": lead, "phone_masked": mask_phone(lead.phone), "manager": manager,
        "reason_form": forms.get("reason_form") or ReasonForm(),
        "note_form": forms.get("note_form") or NoteForm(),
        "grade_form": forms.get("grade_form") or GradeOverrideForm(),
        "reassign_form": forms.get("reassign_form") or ReassignForm(
            consultants=selectors.consultants_of(user=request.user,
                                                 project_id=lead.project_id)) if manager
        else None,
        "error": forms.get("error"),
    }


ACTIONS = ("contact", "visit", "invalid", "lost", "convert", "grade", "reassign", "note")


@login_required
@require_POST
def action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    _staff_only(request)
    if name not in ACTIONS:
        raise Http404
    lead = _lead_or_404(request, pk)
    forms: dict = {}
    try:
        if name == "contact":
            services.lead_contact(actor=request.user, lead=lead,
                                  note=request.POST.get("note", ""))
        elif name == "visit":
            services.lead_visit(actor=request.user, lead=lead)
        elif name in ("invalid", "lost"):
            form = forms["reason_form"] = ReasonForm(request.POST)
            if form.is_valid():
                call = services.lead_invalidate if name == "invalid" else services.lead_lose
                call(actor=request.user, lead=lead, reason=form.cleaned_data["reason"])
        elif name == "convert":
            services.lead_convert(actor=request.user, lead=lead)
        elif name == "note":
            form = forms["note_form"] = NoteForm(request.POST)
            if form.is_valid():
                services.lead_note(actor=request.user, lead=lead,
                                   text=form.cleaned_data["text"])
        elif name == "grade":
            form = forms["grade_form"] = GradeOverrideForm(request.POST)
            if form.is_valid():
                services.lead_grade_override(actor=request.user, lead=lead,
                                             grade=form.cleaned_data["grade"],
                                             reason=form.cleaned_data["reason"])
        elif name == "reassign":
            form = forms["reassign_form"] = ReassignForm(
                request.POST, consultants=selectors.consultants_of(
                    user=request.user, project_id=lead.project_id))
            if form.is_valid():
                services.lead_reassign(actor=request.user, lead=lead,
                                       consultant=form.cleaned_data["consultant"],
                                       reason=form.cleaned_data["reason"])
    except ValidationError as error:
        target = next((f for f in forms.values() if f is not None), None)
        if target is not None:
            apply_service_errors(target, error)
        else:
            forms["error"] = "; ".join(error.messages)
    except PermissionDenied as error:
        forms["error"] = str(error) or _("You are not allowed to do this.")
    invalid = forms.get("error") or any(f.errors for f in forms.values()
                                        if hasattr(f, "errors"))
    if invalid:
        lead = _lead_or_404(request, pk)
        return render(request, "leads/detail.html", _detail_context(request, lead, **forms),
                      status=400)
    messages.success(request, _("Saved."))
    return redirect("leads:detail", pk=pk)


# --- capture and import ---------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def capture(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    form = CaptureForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            referrer = None
            if data["referrer_phone"]:
                try:
                    referrer = existing_customer_for(
                        phones=[normalise_phone(data["referrer_phone"])])
                except ValidationError:
                    referrer = None
                if referrer is None:
                    raise ValidationError({"referrer_phone": _(
                        "No customer in the ledger has this phone.")})
            result = services.lead_capture(
                project=data["project"], channel=data["channel"], actor=request.user,
                method=Lead.Method.FORM, name=data["name"], phone=data["phone"],
                budget_wan=data["budget_wan"], timing=data["timing"],
                unit_type=data["unit_type"], notes=data["notes"],
                referrer_customer=referrer, referrer_user=data["referrer_user"])
        except ValidationError as error:
            if "referrer" in getattr(error, "error_dict", {}):
                error.error_dict["referrer_phone"] = error.error_dict.pop("referrer")
            apply_service_errors(form, error)
        else:
            if result.duplicate:
                messages.info(request, _("This person is already an open lead of the "
                                         "project: the lead was updated."))
            elif result.known_customer:
                messages.info(request, _("This person is already in the ledger: the contact "
                                         "was logged on their record and their consultant "
                                         "told."))
            else:
                messages.success(request, _("Lead captured."))
            if Lead.objects.visible_to(request.user).filter(pk=result.lead.pk).exists():
                return redirect("leads:detail", pk=result.lead.pk)
            return redirect("leads:capture")
    return render(request, "leads/capture.html", {"form": form},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            job = importing.lead_import_run(actor=request.user,
                                            project=form.cleaned_data["project"],
                                            channel=form.cleaned_data["channel"],
                                            upload=form.cleaned_data["file"])
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            if job.in_progress:
                messages.success(request, _("The file is being imported; this page shows "
                                            "how far it has got."))
            return redirect("leads:import_detail", pk=job.pk)
    jobs = selectors.lead_imports(user=request.user)[:20]
    return render(request, "leads/import.html", {"form": form, "jobs": jobs},
                  status=400 if form.errors else 200)


def _job_or_404(request, pk) -> LeadImport:
    job = selectors.lead_imports(user=request.user).filter(pk=pk).first()
    if job is None:
        raise Http404
    return job


@login_required
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_or_404(request, pk)
    return render(request, "leads/import_detail.html", {"job": job})


@login_required
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress card of an import (htmx polls it every 2 s while the import runs; the
    card of a finished import carries no poll, so the polling stops)."""
    job = _job_or_404(request, pk)
    return render(request, "leads/import_progress.html", {"job": job})


@login_required
@require_GET
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_or_404(request, pk)
    if not job.rejected:
        raise Http404
    stem = job.original_name.rsplit(".", 1)[0] or "leads"
    return FileResponse(importing.error_sheet(job), as_attachment=True,
                        filename=f"{stem}-rejected.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument."
                                     "spreadsheetml.sheet")


# --- channels, costs, sources ---------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def channels(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    may = services.may_configure_channels(request.user)
    channel_form = ChannelForm(request.POST if "add_channel" in request.POST else None)
    cost_form = CostForm(request.POST if "add_cost" in request.POST else None,
                         user=request.user)
    source_form = SourceForm(request.POST if "add_source" in request.POST else None,
                             user=request.user)
    new_key = None
    if request.method == "POST":
        if not may:
            raise PermissionDenied
        form = next(f for f in (channel_form, cost_form, source_form) if f.is_bound)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if form is channel_form:
                    services.channel_create(actor=request.user, **data)
                elif form is cost_form:
                    services.channel_cost_add(actor=request.user, **data)
                else:
                    _source, new_key = services.lead_source_create(actor=request.user, **data)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                if new_key is None:
                    messages.success(request, _("Saved."))
                    return redirect("leads:channels")
    status = 400 if any(f.errors for f in (channel_form, cost_form, source_form)) else 200
    return render(request, "leads/channels.html", {
        "tree": selectors.channel_tree(user=request.user),
        "costs": selectors.channel_costs(user=request.user)[:100],
        "sources": selectors.lead_sources(user=request.user),
        "channel_form": channel_form, "cost_form": cost_form, "source_form": source_form,
        "may_configure": may, "new_key": new_key}, status=status)


# --- agencies and registrations -------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def registrations(request: HttpRequest) -> HttpResponse:
    user = request.user
    is_agent = agency.agency_of(user) is not None
    form = RegistrationForm(request.POST or None, user=user) if is_agent else None
    answer = None
    if request.method == "POST":
        if not is_agent:
            raise PermissionDenied
        if form.is_valid():
            try:
                answer = agency.registration_submit(actor=user, **form.cleaned_data)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                answer.message = (agency.rejection_message(answer)
                                  if answer.status == Registration.Status.REJECTED else "")
                form = RegistrationForm(user=user)
    rows = list(selectors.registrations(user=user, status=request.GET.get("status", ""))[:100])
    for row in rows:
        # an agent sees their own people masked too: the claim key, never the full phone
        row.phone_shown = row.claim_key
    return render(request, "leads/registrations.html", {
        "rows": rows, "form": form, "is_agent": is_agent, "answer": answer,
        "manager": services.is_lead_manager(user), "statuses": Registration.Status.choices},
        status=400 if form is not None and form.errors else 200)


@login_required
@require_POST
def registration_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    _staff_only(request)
    try:
        if name == "visit":
            agency.registration_confirm_visit(actor=request.user, registration=pk)
        elif name in ("accept", "reject"):
            agency.registration_review(actor=request.user, registration=pk,
                                       accept=name == "accept",
                                       note=request.POST.get("note", ""))
        else:
            raise Http404
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    except PermissionDenied:
        raise Http404 from None
    else:
        messages.success(request, _("Saved."))
    return redirect("leads:registrations")


@login_required
@require_GET
def registration_trail(request: HttpRequest, pk: int) -> HttpResponse:
    _staff_only(request)
    registration = get_object_or_404(Registration.objects.visible_to(request.user), pk=pk)
    trail = agency.registration_trail(viewer=request.user, project_id=registration.project_id,
                                      claim_key=registration.claim_key)
    return render(request, "leads/registration_trail.html",
                  {"registration": registration, "trail": trail})


@login_required
@require_http_methods(["GET", "POST"])
def agencies(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    manager = services.is_lead_manager(request.user)
    agency_form = AgencyForm(request.POST if "add_agency" in request.POST else None,
                             user=request.user)
    agent_form = AgentForm(request.POST if "add_agent" in request.POST else None,
                           user=request.user)
    if request.method == "POST":
        if not manager:
            raise PermissionDenied
        form = agency_form if agency_form.is_bound else agent_form
        if form.is_valid():
            try:
                if form is agency_form:
                    agency.agency_create(actor=request.user, **form.cleaned_data)
                else:
                    agency.agency_agent_add(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Saved."))
                return redirect("leads:agencies")
    rows = list(selectors.agencies(user=request.user))
    owed = {}
    for commission in selectors.commissions(user=request.user).filter(status="owed"):
        owed[commission.agency_id] = owed.get(commission.agency_id, 0) + commission.amount
    for row in rows:
        row.owed = owed.get(row.pk, 0)
    return render(request, "leads/agencies.html", {
        "rows": rows, "commissions": selectors.commissions(user=request.user)[:50],
        "manager": manager, "agency_form": agency_form, "agent_form": agent_form},
        status=400 if agency_form.errors or agent_form.errors else 200)


# --- roster and rules -----------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def roster(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    manager = services.is_lead_manager(request.user)
    form = RosterForm(request.POST or request.GET or None, user=request.user)
    project = form.cleaned_data["project"] if form.is_bound and form.is_valid() else None
    consultants = (list(selectors.consultants_of(user=request.user, project_id=project.pk))
                   if project else [])
    if request.method == "POST" and project is not None:
        if not manager:
            raise PermissionDenied
        turns = []
        for user in consultants:
            turn = _int(request.POST.get(f"turn_{user.pk}"))
            if turn:
                turns.append((turn, user))
        turns.sort(key=lambda pair: pair[0])
        absent = [user for user in consultants if request.POST.get(f"absent_{user.pk}")]
        try:
            services.roster_set(actor=request.user, project=project,
                                date=services.today_local(),
                                consultants=[user for _turn, user in turns], absent=absent)
        except ValidationError as error:
            messages.error(request, "; ".join(error.messages))
        else:
            messages.success(request, _("Saved."))
        return redirect(f"{reverse('leads:roster')}?project={project.pk}")
    rosters = list(selectors.rosters(user=request.user))
    current = {}
    for item in rosters:
        if project is not None and item.project_id == project.pk:
            current = {entry.consultant_id: entry for entry in item.entries.all()}
    for user in consultants:
        entry = current.get(user.pk)
        user.turn = entry.position + 1 if entry else ""
        user.absent = bool(entry and entry.absent)
    return render(request, "leads/roster.html", {
        "form": form, "rosters": rosters, "consultants": consultants, "project": project,
        "manager": manager, "today": services.today_local(),
        "checkin_projects": Project.objects.visible_to(request.user).filter(is_active=True)
        .order_by("name")})


# --- the check-in QR code and its poster ----------------------------------------------------

POSTER_SIZES = ("a4", "a5")


def _qr_project(request: HttpRequest, code: str) -> Project:
    """A project of the viewer's scope taking check-ins; 404 for any other (its existence
    does not leak)."""
    _staff_only(request)
    project = Project.objects.visible_to(request.user).filter(code=code, is_active=True).first()
    if project is None:
        raise Http404
    return project


def _checkin_url(request: HttpRequest, project: Project) -> str:
    return request.build_absolute_uri(reverse("leads:checkin", args=[project.code]))


def checkin_qr_svg(url: str) -> str:
    """The QR code of `url` as a standalone SVG (no size: it scales to its box; a viewBox,
    a quiet zone of 4 modules, medium error correction so a worn print still scans)."""
    code = segno.make_qr(url, error="m")
    out = io.BytesIO()
    code.save(out, kind="svg", border=4, omitsize=True, xmldecl=True, svgns=True,
              title=url, dark="#000", light="#fff")
    return out.getvalue().decode("utf-8")


@login_required
@require_GET
def checkin_qr(request: HttpRequest, code: str) -> HttpResponse:
    project = _qr_project(request, code)
    response = HttpResponse(checkin_qr_svg(_checkin_url(request, project)),
                            content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_GET
def checkin_poster(request: HttpRequest, code: str) -> HttpResponse:
    """A page to print at the reception (A4 or A5): the project's name, the headline, the
    QR code and the short address under it."""
    project = _qr_project(request, code)
    size = request.GET.get("size", "a4")
    if size not in POSTER_SIZES:
        size = "a4"
    url = _checkin_url(request, project)
    return render(request, "leads/checkin_poster.html", {
        "project": project, "size": size, "checkin_url": url,
        "short_address": url.split("://", 1)[-1].rstrip("/")})


@login_required
@require_http_methods(["GET", "POST"])
def rules(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    manager = services.is_lead_manager(request.user)
    assign_form = AssignmentRuleForm(request.POST if "add_assignment" in request.POST else None,
                                     user=request.user)
    grade_form = GradingRuleForm(request.POST if "add_grading" in request.POST else None)
    if request.method == "POST":
        if not manager:
            raise PermissionDenied
        form = assign_form if assign_form.is_bound else grade_form
        if form.is_valid():
            try:
                if form is assign_form:
                    data = dict(form.cleaned_data)
                    data["consultants"] = list(data["consultants"])
                    services.assignment_rule_create(actor=request.user, **data)
                else:
                    services.grading_rule_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Saved."))
                return redirect("leads:rules")
    return render(request, "leads/rules.html", {
        "assignment_rules": selectors.assignment_rules(user=request.user),
        "grading_rules": selectors.grading_rules(user=request.user),
        "assign_form": assign_form, "grade_form": grade_form, "manager": manager,
        "policy": services.policy_for(None)},
        status=400 if assign_form.errors or grade_form.errors else 200)


# --- reports --------------------------------------------------------------------------------

def _report_params(request: HttpRequest):
    form = ReportForm(request.GET or None)
    today = timezone.localdate()
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    date_to = data.get("date_to") or today
    date_from = data.get("date_from") or date_to - datetime.timedelta(days=29)
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    date_from = max(date_from, date_to - datetime.timedelta(days=366))
    return form, data.get("dimension") or "channel", date_from, date_to


@login_required
@require_GET
def report_page(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    form, dimension, date_from, date_to = _report_params(request)
    report = reports.lead_report(user=request.user, dimension=dimension, date_from=date_from,
                                 date_to=date_to)
    query = f"dimension={dimension}&date_from={date_from}&date_to={date_to}"
    return render(request, "leads/reports.html", {
        "form": form, "report": report,
        "data_url": f"{reverse('leads:report_data')}?{query}"})


@login_required
@require_GET
def report_data(request: HttpRequest) -> JsonResponse:
    _staff_only(request)
    _form, dimension, date_from, date_to = _report_params(request)
    report = reports.lead_report(user=request.user, dimension=dimension, date_from=date_from,
                                 date_to=date_to)
    return JsonResponse(reports.chart_option(report))


# --- the public QR check-in -----------------------------------------------------------------

def _checkin_project(code: str) -> Project:
    project = Project.objects.filter(code=code, is_active=True).first()
    if project is None:
        raise Http404
    return project


@require_http_methods(["GET", "POST"])
def checkin(request: HttpRequest, code: str) -> HttpResponse:
    """The visitor scans the code at the reception and leaves name, phone and a few needs.
    The answer is the same whether or not the person is known; nothing of the ledger shows.
    Rate-limited per address."""
    project = _checkin_project(code)
    form = CheckinForm(request.POST or None)
    if request.method == "POST":
        ip = client_ip(request)
        if not (allow(scope="checkin-m", key=ip, limit=CHECKIN_LIMIT_PER_MINUTE,
                      window_seconds=60)
                and allow(scope="checkin-h", key=ip, limit=CHECKIN_LIMIT_PER_HOUR,
                          window_seconds=3600)):
            return render(request, "leads/checkin.html", {
                "form": form, "project": project,
                "throttled": _("Too many check-ins from this network. Please ask the "
                               "reception, or try again in a few minutes.")}, status=429)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.lead_capture(
                    project=project, method=Lead.Method.QR,
                    channel=services.walk_in_channel(), name=data["name"],
                    phone=data["phone"], budget_wan=data["budget_wan"],
                    timing=data["timing"], unit_type=data["unit_type"],
                    notes=data["notes"], mobile_only=True)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                return redirect("leads:checkin_done", code=project.code)
        return render(request, "leads/checkin.html", {"form": form, "project": project},
                      status=400)
    return render(request, "leads/checkin.html", {"form": form, "project": project})


@require_GET
def checkin_done(request: HttpRequest, code: str) -> HttpResponse:
    project = _checkin_project(code)
    return render(request, "leads/checkin_done.html", {"project": project})
