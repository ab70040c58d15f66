"""Page forms of the leads app: they parse; the services check and write."""

from django import forms
from django.utils.translation import gettext_lazy as _

from anju.accounts.models import Company, Project, Team, User

from .models import Agency, Channel, Grade, GradingRule, Lead, Timing


def _projects(user):
    return Project.objects.visible_to(user).filter(is_active=True).order_by("name")


class CaptureForm(forms.Form):
    project = forms.ModelChoiceField(label=_("project"), queryset=Project.objects.none())
    channel = forms.ModelChoiceField(label=_("channel"), queryset=Channel.objects.none(),
                                     required=False)
    name = forms.CharField(label=_("name"), max_length=200)
    phone = forms.CharField(label=_("phone"), max_length=200)
    budget_wan = forms.CharField(label=_("budget (万元)"), max_length=30, required=False)
    timing = forms.ChoiceField(label=_("when buying"), choices=Timing.choices, required=False)
    unit_type = forms.CharField(label=_("unit type wanted"), max_length=200, required=False)
    notes = forms.CharField(label=_("notes"), widget=forms.Textarea(attrs={"rows": 3}),
                            max_length=5000, required=False)
    referrer_phone = forms.CharField(
        label=_("referred by (owner's phone)"), max_length=40, required=False,
        help_text=_("For owner referrals: the referring owner's phone in the ledger."))

    referrer_user = forms.ModelChoiceField(
        label=_("referred by (employee)"), queryset=User.objects.none(), required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = _projects(user)
        self.fields["channel"].queryset = Channel.objects.filter(is_active=True)
        self.fields["referrer_user"].queryset = User.objects.visible_to(user).filter(
            is_active=True).exclude(role__code="channel_agent").order_by("username")


class CheckinForm(forms.Form):
    """The public QR check-in: loose limits here, the service says what is wrong."""

    name = forms.CharField(label=_("Your name"), max_length=200)
    phone = forms.CharField(label=_("Mobile phone"), max_length=200)
    budget_wan = forms.CharField(label=_("Budget (万元)"), max_length=30, required=False)
    timing = forms.ChoiceField(label=_("When are you buying?"), choices=Timing.choices,
                               required=False)
    unit_type = forms.CharField(label=_("Which home are you looking for?"), max_length=200,
                                required=False)
    notes = forms.CharField(label=_("Anything else?"), max_length=2000, required=False,
                            widget=forms.Textarea(attrs={"rows": 2}))
    consent = forms.BooleanField(
        label=_("I agree that the sales office may contact me about this project."))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=500)


class NoteForm(forms.Form):
    text = forms.CharField(label=_("note"), max_length=500)


class GradeOverrideForm(forms.Form):
    grade = forms.ChoiceField(label=_("grade"), choices=Grade.choices)
    reason = forms.CharField(label=_("reason"), max_length=500)


class ReassignForm(forms.Form):
    consultant = forms.ModelChoiceField(label=_("consultant"), queryset=User.objects.none())
    reason = forms.CharField(label=_("reason"), max_length=500, required=False)

    def __init__(self, *args, consultants=None, **kwargs):
        super().__init__(*args, **kwargs)
        if consultants is not None:
            self.fields["consultant"].queryset = consultants


class ImportForm(forms.Form):
    project = forms.ModelChoiceField(label=_("project"), queryset=Project.objects.none())
    channel = forms.ModelChoiceField(label=_("channel"), queryset=Channel.objects.none(),
                                     required=False)
    file = forms.FileField(label=_("xlsx file"), widget=forms.FileInput(attrs={
        "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}),
        help_text=_("Up to 20 MB; any number of rows."))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = _projects(user)
        self.fields["channel"].queryset = Channel.objects.filter(is_active=True)


class ChannelForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=200)
    code = forms.CharField(label=_("code"), max_length=100)
    kind = forms.ChoiceField(label=_("kind"), choices=Channel.Kind.choices)
    parent = forms.ModelChoiceField(label=_("parent channel"), queryset=Channel.objects.all(),
                                    required=False)


class CostForm(forms.Form):
    channel = forms.ModelChoiceField(label=_("channel"), queryset=Channel.objects.all())
    project = forms.ModelChoiceField(label=_("project"), queryset=Project.objects.none())
    period_start = forms.DateField(label=_("from"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=_("to"), widget=forms.DateInput(attrs={"type": "date"}))
    amount = forms.DecimalField(label=_("amount (元)"), max_digits=14, decimal_places=2,
                                min_value=0)
    note = forms.CharField(label=_("note"), max_length=500, required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = _projects(user)


class SourceForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=200)
    channel = forms.ModelChoiceField(label=_("channel"), queryset=Channel.objects.all())
    project = forms.ModelChoiceField(label=_("project"), queryset=Project.objects.none())

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = _projects(user)


class RegistrationForm(forms.Form):
    project = forms.ModelChoiceField(label=_("project"), queryset=Project.objects.none())
    customer_name = forms.CharField(label=_("customer name"), max_length=200)
    phone = forms.CharField(label=_("phone"), max_length=200,
                            help_text=_("Full mobile number, or 138****8000."))
    note = forms.CharField(label=_("note"), max_length=500, required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = _projects(user)


class RosterForm(forms.Form):
    project = forms.ModelChoiceField(label=_("project"), queryset=Project.objects.none())

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = _projects(user)


class AssignmentRuleForm(forms.Form):
    project = forms.ModelChoiceField(label=_("project"), queryset=Project.objects.none())
    order = forms.IntegerField(label=_("order"), min_value=0, max_value=30000, initial=100)
    channel = forms.ModelChoiceField(label=_("channel"), queryset=Channel.objects.all(),
                                     required=False)
    grade = forms.ChoiceField(label=_("grade"), choices=[("", "—"), *Grade.choices],
                              required=False)
    team = forms.ModelChoiceField(label=_("team"), queryset=Team.objects.none(),
                                  required=False)
    consultants = forms.ModelMultipleChoiceField(label=_("consultants"),
                                                 queryset=User.objects.none(), required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = _projects(user)
        self.fields["team"].queryset = Team.objects.visible_to(user)
        self.fields["consultants"].queryset = User.objects.visible_to(user).filter(
            role__code="sales_consultant", is_active=True)


class GradingRuleForm(forms.Form):
    field = forms.ChoiceField(label=_("criterion"), choices=GradingRule.Field.choices)
    op = forms.ChoiceField(label=_("test"), choices=GradingRule.Op.choices)
    value = forms.CharField(label=_("value"), max_length=200, required=False)
    points = forms.IntegerField(label=_("points"), min_value=-100, max_value=100, initial=10)
    disqualifies = forms.BooleanField(label=_("makes the lead D"), required=False)
    label_met = forms.CharField(label=_("explanation when met"), max_length=200,
                                required=False)
    label_unmet = forms.CharField(label=_("explanation when not met"), max_length=200,
                                  required=False)
    order = forms.IntegerField(label=_("order"), min_value=0, max_value=30000, initial=100)


class ReportForm(forms.Form):
    DIMENSIONS = [("channel", _("channel")), ("agency", _("agency")),
                  ("project", _("project")), ("consultant", _("consultant"))]
    dimension = forms.ChoiceField(label=_("by"), choices=DIMENSIONS, required=False)
    date_from = forms.DateField(label=_("from"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("to"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))


QUEUE_STATUSES = [("", _("open")), ("all", _("all")), *Lead.Status.choices]


class AgencyForm(forms.Form):
    company = forms.ModelChoiceField(label=_("company"), queryset=Company.objects.none())
    name = forms.CharField(label=_("name"), max_length=200)
    contact_consultant = forms.ModelChoiceField(label=_("contact consultant"),
                                                queryset=User.objects.none(), required=False)
    channel = forms.ModelChoiceField(label=_("channel"), queryset=Channel.objects.all(),
                                     required=False)
    commission_rate = forms.CharField(label=_("commission (%)"), max_length=20, required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = Company.objects.visible_to(user).distinct()
        self.fields["contact_consultant"].queryset = User.objects.visible_to(user).filter(
            role__code="sales_consultant", is_active=True)


class AgentForm(forms.Form):
    agency = forms.ModelChoiceField(label=_("agency"), queryset=Agency.objects.none())
    user = forms.ModelChoiceField(label=_("agent"), queryset=User.objects.none())

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = Agency.objects.visible_to(user)
        self.fields["user"].queryset = User.objects.visible_to(user).filter(
            role__code="channel_agent", is_active=True)
