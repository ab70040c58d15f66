"""Pages of customer care for staff: knowledge base (with the reception form's suggestions),
survey scores, handover batches. Thin: parse, call a service or selector, render."""

import datetime

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from anju.accounts.models import Company, Project, Role
from anju.property.models import Building

from ..models.care import (
    HandoverBatch,
    HandoverUnit,
    KnowledgeArticle,
    SurveyTemplate,
    SurveyTrigger,
)
from . import selectors, services
from .services import CareError, InspectionLine, batch_checklist

STAFF_ROLES = (Role.Code.SERVICE_AGENT, Role.Code.SERVICE_MANAGER, Role.Code.ADMIN,
               Role.Code.EXECUTIVE)
MANAGER_ROLES = (Role.Code.SERVICE_MANAGER, Role.Code.ADMIN)


def is_care_staff(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and (
        user.is_superuser or (user.role_id and user.role.code in STAFF_ROLES)))


def is_care_manager(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and (
        user.is_superuser or (user.role_id and user.role.code in MANAGER_ROLES)))


def _staff(request: HttpRequest) -> None:
    if not is_care_staff(request.user):
        raise PermissionDenied


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- knowledge base ---------------------------------------------------------------------------
@login_required
def knowledge_list(request: HttpRequest) -> HttpResponse:
    _staff(request)
    query = request.GET.get("q", "")[:100]
    category = _int(request.GET.get("category"))
    articles = selectors.knowledge_search(user=request.user, query=query, category_id=category,
                                          limit=50)
    return render(request, "aftersales/care/knowledge_list.html", {
        "articles": articles, "query": query, "may_manage": is_care_manager(request.user)})


def _article(request: HttpRequest, pk: int) -> KnowledgeArticle:
    article = selectors.knowledge_articles_for(user=request.user).filter(pk=pk).first()
    if article is None:
        raise Http404
    return article


@login_required
def knowledge_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request)
    return render(request, "aftersales/care/knowledge_detail.html", {
        "article": _article(request, pk), "may_manage": is_care_manager(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def knowledge_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if not is_care_manager(request.user):
        raise PermissionDenied
    article = _article(request, pk) if pk else None
    companies = list(Company.objects.visible_to(request.user))
    errors: dict = {}
    data = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        fields = {"title": data.get("title", ""), "body": data.get("body", ""),
                  "keywords": data.get("keywords", ""),
                  "category_id": data.get("category") or None,
                  "is_published": data.get("is_published") == "on"}
        try:
            if article:
                services.knowledge_article_update(actor=request.user, article=article, **fields)
            else:
                company = next((c for c in companies if str(c.pk) == data.get("company")), None)
                if company is None:
                    raise ValidationError({"company": [_("Choose a company.")]})
                article = services.knowledge_article_create(actor=request.user,
                                                            company=company, **fields)
            return redirect("aftersales:knowledge_detail", article.pk)
        except ValidationError as exc:
            errors = _errors(exc)
    return render(request, "aftersales/care/knowledge_form.html", {
        "article": article, "companies": companies, "errors": errors, "data": data},
        status=400 if errors else 200)


@login_required
def knowledge_suggest(request: HttpRequest) -> HttpResponse:
    """htmx partial for the reception form: `category` and `text` (the description typed so
    far) → matching articles and how similar tickets were resolved."""
    _staff(request)
    text = (request.GET.get("text") or request.GET.get("description") or "")[:500]
    category = _int(request.GET.get("category"))
    articles, resolutions = selectors.knowledge_suggest(user=request.user, text=text,
                                                        category_id=category)
    return render(request, "aftersales/care/_suggest.html", {
        "articles": articles, "resolutions": resolutions})


# --- surveys ------------------------------------------------------------------------------------
def _period(request: HttpRequest) -> tuple[datetime.date, datetime.date]:
    today = timezone.localdate()
    date_to = parse_date(request.GET.get("to") or "") or today
    date_from = parse_date(request.GET.get("from") or "") or date_to - datetime.timedelta(
        days=365)
    return date_from, date_to


@login_required
def survey_scores(request: HttpRequest) -> HttpResponse:
    _staff(request)
    date_from, date_to = _period(request)
    trigger = request.GET.get("trigger", "")
    trigger = trigger if trigger in SurveyTrigger.values else ""
    rows = selectors.survey_scores(user=request.user, date_from=date_from, date_to=date_to,
                                   trigger=trigger)
    return render(request, "aftersales/care/survey_scores.html", {
        "rows": rows, "total": selectors.survey_scores_total(rows),
        "date_from": date_from, "date_to": date_to, "trigger": trigger,
        "triggers": SurveyTrigger.choices,
        "responses": list(selectors.survey_responses_for(user=request.user)[:20])})


KINDS = {"nps": "nps", "scale": "scale", "choice": "choice", "text": "text",
         "推荐": "nps", "满意度": "scale", "单选": "choice", "文字": "text"}


def parse_questions(text: str) -> list[services.QuestionSpec]:
    """One question a line: `kind | question | option / option` (kind: nps, scale, choice,
    text — or 推荐, 满意度, 单选, 文字); a text question is optional, the others required."""
    specs = []
    for number, line in enumerate((t for t in text.splitlines() if t.strip()), start=1):
        parts = [p.strip() for p in line.replace("｜", "|").split("|")]
        kind = KINDS.get(parts[0].lower())
        if kind is None or len(parts) < 2:
            raise ValidationError({"questions": [
                _("Line %(n)d: write “kind | question”, kind one of nps, scale, choice, text.")
                % {"n": number}]})
        options = tuple(o.strip() for o in (parts[2] if len(parts) > 2 else "").replace(
            "／", "/").split("/") if o.strip())
        specs.append(services.QuestionSpec(kind=kind, text=parts[1], choices=options,
                                           required=kind != "text"))
    return specs


@login_required
@require_http_methods(["GET", "POST"])
def survey_templates(request: HttpRequest) -> HttpResponse:
    _staff(request)
    companies = list(Company.objects.visible_to(request.user))
    errors: dict = {}
    data = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        if not is_care_manager(request.user):
            raise PermissionDenied
        company = next((c for c in companies if str(c.pk) == data.get("company")), None)
        try:
            if company is None:
                raise ValidationError({"company": [_("Choose a company.")]})
            services.survey_template_create(
                actor=request.user, company=company, name=data.get("name", ""),
                trigger=data.get("trigger", ""), intro=data.get("intro", ""),
                questions=parse_questions(data.get("questions", "")))
            return redirect("aftersales:survey_templates")
        except ValidationError as exc:
            errors = _errors(exc)
    templates = (SurveyTemplate.objects.filter(company__in=companies)
                 .prefetch_related("questions").order_by("-is_active", "trigger", "-id"))
    return render(request, "aftersales/care/survey_templates.html", {
        "templates": list(templates), "companies": companies, "triggers": SurveyTrigger.choices,
        "errors": errors, "data": data, "may_manage": is_care_manager(request.user)},
        status=400 if errors else 200)


def section_context(customer, viewer) -> dict:
    return {"invitations": selectors.survey_invitations_for_customer(
        user=viewer, customer_id=customer.pk)}


# --- handover ---------------------------------------------------------------------------------
@login_required
def handover_list(request: HttpRequest) -> HttpResponse:
    _staff(request)
    batches = list(selectors.handover_batches_for(user=request.user)[:100])
    progress = selectors.handover_progress(batch_ids=[b.pk for b in batches])
    for batch in batches:
        batch.progress = progress[batch.pk]
    return render(request, "aftersales/care/handover_list.html", {
        "batches": batches, "may_manage": is_care_manager(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def handover_create(request: HttpRequest) -> HttpResponse:
    if not is_care_manager(request.user):
        raise PermissionDenied
    buildings = list(Building.objects.visible_to(request.user).select_related("project"))
    errors: dict = {}
    data = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        building = next((b for b in buildings if str(b.pk) == data.get("building")), None)
        try:
            if building is None:
                raise ValidationError({"building": [_("Choose a building.")]})
            batch = services.handover_batch_create(
                actor=request.user, building=building, name=data.get("name", ""),
                starts_on=parse_date(data.get("starts_on") or ""),
                ends_on=parse_date(data.get("ends_on") or ""))
            return redirect("aftersales:handover_detail", batch.pk)
        except (ValidationError, ValueError) as exc:
            errors = _errors(exc) if isinstance(exc, ValidationError) else {
                "starts_on": [_("Enter a valid date.")]}
    return render(request, "aftersales/care/handover_form.html", {
        "buildings": buildings, "errors": errors, "data": data},
        status=400 if errors else 200)


def _batch(request: HttpRequest, pk: int) -> HandoverBatch:
    batch = selectors.handover_batches_for(user=request.user).filter(pk=pk).first()
    if batch is None:
        raise Http404
    return batch


@login_required
@require_http_methods(["GET", "POST"])
def handover_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request)
    batch = _batch(request, pk)
    errors: dict = {}
    if request.method == "POST":
        if not is_care_manager(request.user):
            raise PermissionDenied
        try:
            starts = parse_datetime(request.POST.get("starts_at") or "")
            ends = parse_datetime(request.POST.get("ends_at") or "")
            tz = timezone.get_current_timezone()
            services.handover_slot_create(
                actor=request.user, batch=batch,
                starts_at=timezone.make_aware(starts, tz) if starts and timezone.is_naive(
                    starts) else starts,
                ends_at=timezone.make_aware(ends, tz) if ends and timezone.is_naive(ends)
                else ends,
                capacity=_int(request.POST.get("capacity")))
            return redirect("aftersales:handover_detail", batch.pk)
        except ValidationError as exc:
            errors = _errors(exc)
    return render(request, "aftersales/care/handover_detail.html", {
        "batch": batch, "progress": selectors.handover_progress(batch_ids=[batch.pk])[batch.pk],
        "stages": HandoverUnit.Stage.choices,
        "slots": list(selectors.handover_slots_of(batch=batch)),
        "units": list(selectors.handover_units_of(batch=batch)), "errors": errors,
        "data": request.POST, "may_manage": is_care_manager(request.user)},
        status=400 if errors else 200)


def _handover(request: HttpRequest, pk: int) -> HandoverUnit:
    handover = (HandoverUnit.objects.visible_to(request.user)
                .select_related("batch__project", "unit", "customer", "slot")
                .filter(pk=pk).first())
    if handover is None:
        raise Http404
    return handover


@login_required
def handover_unit(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request)
    handover = _handover(request, pk)
    return _render_unit(request, handover, {})


def _render_unit(request, handover, errors, status=200, message=""):
    return render(request, "aftersales/care/handover_unit.html", {
        "handover": handover, "checklist": batch_checklist(handover.batch),
        "events": selectors.handover_events_of(handover=handover),
        "problems": selectors.problem_choices(
            company_ids={handover.batch.project.company_id}),
        "items": list(handover.inspection_items.all()),
        "slots": list(selectors.handover_slots_of(batch=handover.batch)),
        "errors": errors, "message": message}, status=status)


@login_required
@require_POST
def handover_unit_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _staff(request)
    handover = _handover(request, pk)
    try:
        if action == "book":
            services.handover_book(actor=request.user, handover_id=handover.pk,
                                   slot_id=_int(request.POST.get("slot")) or 0)
        elif action == "cancel":
            services.handover_cancel_booking(actor=request.user, handover_id=handover.pk)
        elif action == "inspect":
            lines = []
            for row in batch_checklist(handover.batch):
                room = row["room"]
                for item in row["items"]:
                    key = f"{room}|{item}"
                    result = request.POST.get(f"r:{key}")
                    if result in ("ok", "issue"):
                        component_id, category_id = selectors.parse_problem(
                            request.POST.get(f"p:{key}", ""))
                        lines.append(InspectionLine(
                            room=room, item=item, ok=result == "ok",
                            note=request.POST.get(f"n:{key}", ""),
                            component_id=component_id, category_id=category_id))
            services.handover_inspect(actor=request.user, handover_id=handover.pk, lines=lines)
        elif action == "keys":
            services.handover_keys(actor=request.user, handover_id=handover.pk,
                                   key_count=_int(request.POST.get("key_count")))
        elif action == "sign":
            services.handover_sign_off(actor=request.user, handover_id=handover.pk,
                                       signed_by=request.POST.get("signed_by", ""))
        else:
            raise Http404
    except ValidationError as exc:
        return _render_unit(request, _handover(request, pk), _errors(exc), status=400)
    except CareError as exc:
        return _render_unit(request, _handover(request, pk), {}, status=409,
                            message=exc.message)
    return redirect("aftersales:handover_unit", handover.pk)


# --- the inspection checklist per project -------------------------------------------------------
def may_edit_company_checklist(user, company: Company) -> bool:
    """A company's default checklist applies to all its projects: managers whose scope is
    the company (or everything) edit it; a project's manager edits their project's."""
    return is_care_manager(user) and (user.is_superuser or user.scope_level_in_force in (
        "company", "all")) and Company.objects.visible_to(user).filter(pk=company.pk).exists()


@login_required
def checklist_list(request: HttpRequest) -> HttpResponse:
    _staff(request)
    return render(request, "aftersales/care/checklist_list.html", {
        "rows": selectors.checklist_overview(user=request.user),
        "may_manage": is_care_manager(request.user)})


def _checklist_target(request: HttpRequest, company_id: int | None, project_id: int | None
                      ) -> tuple[Company, Project | None]:
    if project_id is not None:
        project = (Project.objects.visible_to(request.user).select_related("company")
                   .filter(pk=project_id).first())
        if project is None:
            raise Http404
        return project.company, project
    company = Company.objects.visible_to(request.user).filter(pk=company_id).first()
    if company is None:
        raise Http404
    return company, None


@login_required
@require_http_methods(["GET", "POST"])
def checklist_edit(request: HttpRequest, company_id: int | None = None,
                   project_id: int | None = None) -> HttpResponse:
    """One project's checklist (or a company's default): rooms and items in order; managers
    add, rename, move and remove them (htmx swaps the list, plain forms work too)."""
    _staff(request)
    company, project = _checklist_target(request, company_id, project_id)
    may_edit = is_care_manager(request.user) if project else may_edit_company_checklist(
        request.user, company)
    errors: dict = {}
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied
        data = request.POST
        try:
            if data.get("action") == "reset":
                services.checklist_reset(actor=request.user, company=company, project=project)
            else:
                services.checklist_change(
                    actor=request.user, company=company, project=project,
                    action=data.get("action", ""), room=data.get("room", ""),
                    item=data.get("item", ""), name=data.get("name", ""))
            if not request.headers.get("HX-Request"):
                return redirect(request.path)
        except ValidationError as exc:
            errors = _errors(exc)
        except CareError as exc:
            errors = {"__all__": [exc.message]}
    if project is not None:
        rooms, source = selectors.checklist_in_force(project_id=project.pk)
    else:
        rooms, source = selectors.company_checklist(company_id=company.pk)
    context = {"company": company, "project": project, "rooms": rooms, "source": source,
               "may_edit": may_edit, "errors": errors,
               "library_rooms": selectors.library_room_names(company_id=company.pk)}
    if request.headers.get("HX-Request"):
        # htmx swaps only 2xx answers: the list comes back with its errors shown in it.
        return render(request, "aftersales/care/_checklist.html", context)
    return render(request, "aftersales/care/checklist_edit.html", context,
                  status=400 if errors else 200)
