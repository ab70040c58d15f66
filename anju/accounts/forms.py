"""Page forms: they parse and present; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from anju.core.locking import VersionedFormMixin

from .models import Company, Project, Role, ScopeLevel, Team, User

SCOPE_CHOICES = [("", _("role default")), *ScopeLevel.choices]


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("user name"), max_length=150)
    display_name = forms.CharField(label=_("name"), max_length=50, required=False)
    phone = forms.CharField(label=_("mobile phone"), max_length=32, required=False)
    email = forms.EmailField(label=_("email"), required=False)
    role = forms.ModelChoiceField(label=_("role"), queryset=Role.objects.all(), required=False)
    password = forms.CharField(label=_("initial password"), widget=forms.PasswordInput,
                               strip=False)


class UserEditForm(VersionedFormMixin, forms.Form):
    display_name = forms.CharField(label=_("name"), max_length=50, required=False)
    phone = forms.CharField(label=_("mobile phone"), max_length=32, required=False,
                            help_text=_("Leave blank to keep the current number."))
    email = forms.EmailField(label=_("email"), required=False)
    team = forms.ModelChoiceField(label=_("team"), queryset=Team.objects.none(), required=False)
    role = forms.ModelChoiceField(label=_("role"), queryset=Role.objects.all(), required=False)
    scope_level = forms.ChoiceField(label=_("data scope"), choices=SCOPE_CHOICES,
                                    required=False)
    companies = forms.ModelMultipleChoiceField(label=_("companies in scope"),
                                               queryset=Company.objects.none(), required=False)
    projects = forms.ModelMultipleChoiceField(label=_("projects in scope"),
                                              queryset=Project.objects.none(), required=False)

    def __init__(self, *args, viewer: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.visible_to(viewer)
        self.fields["companies"].queryset = Company.objects.visible_to(viewer).distinct()
        self.fields["projects"].queryset = Project.objects.visible_to(viewer).select_related(
            "company")

    @classmethod
    def initial_for(cls, user: User) -> dict:
        # The phone is never sent to the page in clear: blank keeps the stored number.
        return {"display_name": user.display_name, "phone": "", "email": user.email,
                "team": user.team_id, "role": user.role_id, "scope_level": user.scope_level,
                "companies": [c.pk for c in user.companies.all()],
                "projects": [p.pk for p in user.projects.all()], "version": user.version}


class ProjectCreateForm(forms.Form):
    company = forms.ModelChoiceField(label=_("company"), queryset=Company.objects.none())
    name = forms.CharField(label=_("name"), max_length=100)
    code = forms.SlugField(label=_("code"), max_length=32)
    city = forms.CharField(label=_("city"), max_length=50, required=False)
    district = forms.CharField(label=_("district"), max_length=50, required=False)
    address = forms.CharField(label=_("address"), max_length=200, required=False)

    def __init__(self, *args, viewer: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = Company.objects.visible_to(viewer).distinct()


class ProjectEditForm(VersionedFormMixin, forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    city = forms.CharField(label=_("city"), max_length=50, required=False)
    district = forms.CharField(label=_("district"), max_length=50, required=False)
    address = forms.CharField(label=_("address"), max_length=200, required=False)
    is_active = forms.BooleanField(label=_("active"), required=False)

    FIELDS = ("name", "city", "district", "address", "is_active")

    @classmethod
    def initial_for(cls, project: Project) -> dict:
        return {**{name: getattr(project, name) for name in cls.FIELDS},
                "version": project.version}
