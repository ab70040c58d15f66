"""Accounts pages: login and password, "my account", users and projects for admins.

Thin: parse with a form, call a selector or a service, render. Rights come from rules.py."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from anju.core.exports import Column, export_table
from anju.core.forms import apply_service_errors
from anju.core.locking import VersionConflict, conflict_context

from . import selectors, services
from .forms import (
    ProjectCreateForm,
    ProjectEditForm,
    UserCreateForm,
    UserEditForm,
)
from .models import ScopeLevel

LOGIN_REASONS = {
    "idle": gettext_lazy("You were signed out after a period of inactivity. "
                         "Please sign in again."),
    "expired": gettext_lazy("Your session has reached its maximum length. "
                            "Please sign in again."),
}


def perm_required(perm: str):
    """Login required, then the rules permission, else 403 (never a login loop)."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if not request.user.has_perm(perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# --- login, logout, password ------------------------------------------------------------------
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["reason_message"] = LOGIN_REASONS.get(self.request.GET.get("reason", ""))
        return context


class LogoutView(auth_views.LogoutView):
    pass  # POST only (Django's own rule since 5.0); redirects to LOGOUT_REDIRECT_URL


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:me")

    def form_valid(self, form):
        try:
            user = services.password_change(
                actor=self.request.user, user=form.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"])
        except ValidationError as error:
            apply_service_errors(form, error)
            return self.form_invalid(form)
        update_session_auth_hash(self.request, user)
        messages.success(self.request, _("Your password was changed."))
        return redirect(self.success_url)


@login_required
def my_account(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(request, "accounts/my_account.html", {
        "account": user,
        "scope_label": ScopeLevel(user.scope_level_in_force).label,
        "projects": list(user.projects.select_related("company")),
        "companies": list(user.companies.all()),
        "sessions": list(selectors.session_list(user=user)),
        "current_session_key": request.session.session_key,
    })


# --- users ------------------------------------------------------------------------------------
@perm_required("accounts.view_user_list")
def user_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.user_list(viewer=request.user), 50).get_page(
        request.GET.get("page"))
    return render(request, "accounts/user_list.html", {"page": page})


@perm_required("accounts.change_user")
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("User %(name)s was created.") % {"name": user})
            return redirect("accounts:user_edit", pk=user.pk)
    return render(request, "accounts/user_create.html", {"form": form},
                  status=400 if form.errors else 200)


@perm_required("accounts.change_user")
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = selectors.user_get(viewer=request.user, pk=pk)
    status, conflict = 200, {}
    if request.method == "POST":
        form = UserEditForm(request.POST, viewer=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():  # one page, one save: both services or neither
                    user = services.user_update(
                        actor=request.user, user=user, version=form.expected_version,
                        display_name=data["display_name"],
                        phone=data["phone"] or user.phone,  # blank: keep (it is masked)
                        email=data["email"], team=data["team"])
                    services.user_set_scope(
                        actor=request.user, user=user, version=user.version,
                        role=data["role"], scope_level=data["scope_level"],
                        companies=data["companies"], projects=data["projects"])
            except VersionConflict as error:
                conflict = conflict_context(error, field_names=["display_name", "email", "team"])
                status = 409
                user = selectors.user_get(viewer=request.user, pk=pk)
                form = UserEditForm(initial=UserEditForm.initial_for(user), viewer=request.user)
            except ValidationError as error:
                apply_service_errors(form, error)
                status = 400
            else:
                messages.success(request, _("Saved."))
                return redirect("accounts:user_edit", pk=pk)
        else:
            status = 400
    else:
        form = UserEditForm(initial=UserEditForm.initial_for(user), viewer=request.user)
    return render(request, "accounts/user_edit.html",
                  {"account": user, "form": form, **conflict}, status=status)


@require_POST
@perm_required("accounts.change_user")
def user_set_active(request: HttpRequest, pk: int, active: bool) -> HttpResponse:
    user = selectors.user_get(viewer=request.user, pk=pk)
    try:
        if active:
            services.user_enable(actor=request.user, user=user)
            messages.success(request, _("%(name)s can sign in again.") % {"name": user})
        else:
            services.user_disable(actor=request.user, user=user)
            messages.success(request, _("%(name)s was disabled and signed out everywhere.")
                             % {"name": user})
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect("accounts:user_edit", pk=pk)


# --- projects ---------------------------------------------------------------------------------
EXPORT_FORMATS = ("xlsx", "csv")


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.project_list(viewer=request.user), 50).get_page(
        request.GET.get("page"))
    return render(request, "accounts/project_list.html", {
        "page": page, "export_formats": EXPORT_FORMATS,
    })


@login_required
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = selectors.project_get(viewer=request.user, pk=pk)
    return render(request, "accounts/project_detail.html", {"project": project})


@perm_required("accounts.add_project")
def project_create(request: HttpRequest) -> HttpResponse:
    form = ProjectCreateForm(request.POST or None, viewer=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Project %(name)s was created.") % {"name": project})
            return redirect("accounts:project_detail", pk=project.pk)
    return render(request, "accounts/project_create.html", {"form": form},
                  status=400 if form.errors else 200)


@perm_required("accounts.change_project")
def project_edit(request: HttpRequest, pk: int) -> HttpResponse:
    project = selectors.project_get(viewer=request.user, pk=pk)
    status, conflict = 200, {}
    if request.method == "POST":
        form = ProjectEditForm(request.POST)
        if form.is_valid():
            changes = {name: form.cleaned_data[name] for name in ProjectEditForm.FIELDS}
            try:
                project = services.project_update(actor=request.user, project=project,
                                                  version=form.expected_version, **changes)
            except VersionConflict as error:
                # Nothing was written. Show "yours" next to "saved"; the form keeps what the
                # user typed, now against the saved version, so saving again is deliberate.
                conflict = conflict_context(error, field_names=list(ProjectEditForm.FIELDS))
                status = 409
                project = error.current
                data = request.POST.copy()
                data["version"] = project.version
                form = ProjectEditForm(data)
                form.is_valid()
            except ValidationError as error:
                apply_service_errors(form, error)
                status = 400
            else:
                messages.success(request, _("Saved."))
                return redirect("accounts:project_detail", pk=project.pk)
        else:
            status = 400
    else:
        form = ProjectEditForm(initial=ProjectEditForm.initial_for(project))
    return render(request, "accounts/project_edit.html",
                  {"project": project, "form": form, **conflict}, status=status)


@perm_required("accounts.export_project")
def project_export(request: HttpRequest) -> HttpResponse:
    file_format = request.GET.get("format", "xlsx")
    if file_format not in EXPORT_FORMATS:
        raise Http404
    columns = [
        Column(gettext_lazy("company"), "company.name"),
        Column(gettext_lazy("name"), "name"),
        Column(gettext_lazy("code"), "code"),
        Column(gettext_lazy("city"), "city"),
        Column(gettext_lazy("district"), "district"),
        Column(gettext_lazy("address"), "address"),
        Column(gettext_lazy("active"), lambda p: _("yes") if p.is_active else _("no")),
    ]
    return export_table(user=request.user, target="accounts.project", columns=columns,
                        rows=selectors.project_list(viewer=request.user), file_format=file_format,
                        filename=_("projects"), request=request)
