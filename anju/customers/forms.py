"""Forms of the ledger's pages: they parse what people type; the rules live in services.py."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from anju.accounts.models import Project
from anju.core.locking import VersionedFormMixin

from .models import CustomerNeed, Gender, HouseholdMember, IncomeBand, Interaction, Stage, Tier


def split_list(text: str) -> list[str]:
    """Lines, commas (also 、，；) separate the items of a list typed in one box."""
    return [item.strip() for item in re.split(r"[\n,，、;；]+", text or "") if item.strip()]


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class CustomerForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=200,
                           error_messages={"required": _("Enter the customer's name.")})
    phones = forms.CharField(label=_("mobile phone"), required=False,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("One number per line; the first is the primary one."))
    id_number = forms.CharField(label=_("ID card number"), max_length=40, required=False)
    gender = forms.ChoiceField(label=_("gender"), choices=Gender.choices, required=False)
    birthday = forms.DateField(label=_("birthday"), required=False, widget=DateInput)
    project = forms.ModelChoiceField(label=_("main project"), queryset=Project.objects.none(),
                                     required=True)
    source_channel = forms.CharField(label=_("source channel"), max_length=64, required=False)
    occupation = forms.CharField(label=_("occupation"), max_length=100, required=False)
    income_band = forms.ChoiceField(label=_("income band"), choices=IncomeBand.choices,
                                    required=False)
    address = forms.CharField(label=_("address"), max_length=200, required=False)
    stage = forms.ChoiceField(label=_("lifecycle stage"), choices=Stage.choices,
                              initial=Stage.POTENTIAL)

    def __init__(self, *args, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        if viewer is not None:
            self.fields["project"].queryset = Project.objects.visible_to(viewer).filter(
                is_active=True).select_related("company")

    def clean_name(self):
        return " ".join(self.cleaned_data["name"].split())

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data["phones"] = split_list(data.get("phones", ""))
        return data


class CustomerEditForm(VersionedFormMixin, CustomerForm):
    """Identity fields; phones are edited one by one on the 360° page."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["phones"]
        self.fields["id_number"].help_text = _("Leave as it is to keep the current number.")

    def service_kwargs(self) -> dict:
        data = {key: value for key, value in self.cleaned_data.items() if key != "version"}
        return data


class InteractionForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=Interaction.Kind.choices)
    occurred_at = forms.DateTimeField(label=_("when"), required=False, widget=DateTimeInput,
                                      input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
                                                     "%Y-%m-%d %H:%M:%S"])
    outcome = forms.CharField(label=_("outcome"), max_length=200, required=False)
    notes = forms.CharField(label=_("notes"), required=False,
                            widget=forms.Textarea(attrs={"rows": 2}))
    next_follow_up_at = forms.DateTimeField(
        label=_("next follow-up"), required=False, widget=DateTimeInput,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"])


class PhoneAddForm(forms.Form):
    phone = forms.CharField(label=_("mobile phone"), max_length=40)
    label = forms.CharField(label=_("label"), max_length=20, required=False)
    make_primary = forms.BooleanField(label=_("primary"), required=False)


class TagsForm(forms.Form):
    tags = forms.TypedMultipleChoiceField(label=_("tags"), required=False, coerce=int,
                                          widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, groups=(), **kwargs):
        """`groups`: (dimension name, [(tag id, tag name), …]) pairs."""
        super().__init__(*args, **kwargs)
        self.fields["tags"].choices = list(groups)


class NeedForm(forms.Form):
    budget_min_wan = forms.DecimalField(label=_("budget from (万元)"), required=False,
                                        max_digits=10, decimal_places=2, min_value=0)
    budget_max_wan = forms.DecimalField(label=_("budget to (万元)"), required=False,
                                        max_digits=10, decimal_places=2, min_value=0)
    area_min = forms.DecimalField(label=_("area from (m²)"), required=False, max_digits=8,
                                  decimal_places=2, min_value=0)
    area_max = forms.DecimalField(label=_("area to (m²)"), required=False, max_digits=8,
                                  decimal_places=2, min_value=0)
    unit_types = forms.CharField(label=_("unit types"), required=False,
                                 help_text=_("Separate with commas."))
    districts = forms.CharField(label=_("districts"), required=False,
                                help_text=_("Separate with commas."))
    purpose = forms.ChoiceField(label=_("purpose"), choices=CustomerNeed.Purpose.choices,
                                required=False)
    notes = forms.CharField(label=_("notes"), required=False,
                            widget=forms.Textarea(attrs={"rows": 2}))

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data["unit_types"] = split_list(data["unit_types"])
        data["districts"] = split_list(data["districts"])
        return data


class HouseholdForm(forms.Form):
    relation = forms.ChoiceField(label=_("relation"), choices=HouseholdMember.Relation.choices)
    name = forms.CharField(label=_("name"), max_length=50, required=False)
    note = forms.CharField(label=_("note"), max_length=200, required=False)


class TierOverrideForm(forms.Form):
    tier = forms.ChoiceField(label=_("tier"), required=False,
                             choices=[("", _("computed by the rules")), *Tier.choices])
    reason = forms.CharField(label=_("why set by hand"), max_length=200, required=False)


class SavedFilterForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=50)
    query = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)


class ListFilterForm(forms.Form):
    """The list's filters; unknown or bad values are ignored (a list never fails)."""

    tier = forms.ChoiceField(label=_("tier"), required=False,
                             choices=[("", _("any")), *Tier.choices])
    stage = forms.ChoiceField(label=_("lifecycle stage"), required=False,
                              choices=[("", _("any")), *Stage.choices])
    tag = forms.TypedChoiceField(label=_("tag"), required=False, coerce=int, empty_value=None)
    owner = forms.TypedChoiceField(label=_("owning consultant"), required=False, coerce=int,
                                   empty_value=None)
    project = forms.TypedChoiceField(label=_("project"), required=False, coerce=int,
                                     empty_value=None)
    channel = forms.CharField(label=_("source channel"), required=False, max_length=64)
    contact_after = forms.DateField(label=_("last contact from"), required=False,
                                    widget=DateInput)
    contact_before = forms.DateField(label=_("last contact before"), required=False,
                                     widget=DateInput)
    consent = forms.ChoiceField(label=_("marketing consent"), required=False,
                                choices=[("", _("any")), ("1", _("yes")), ("0", _("no"))])
    sort = forms.ChoiceField(label=_("sort by"), required=False, choices=[
        ("-id", _("newest first")), ("name", _("name")), ("-last_contact", _("last contact")),
        ("last_contact", _("longest without contact"))])

    def __init__(self, *args, choices=None, **kwargs):
        """`choices`: a `selectors.ListChoices` (tags by dimension, owners, projects)."""
        super().__init__(*args, **kwargs)
        any_ = [("", _("any"))]
        self.fields["tag"].choices = any_ + (list(choices.tags) if choices else [])
        self.fields["owner"].choices = any_ + (list(choices.owners) if choices else [])
        self.fields["project"].choices = any_ + (list(choices.projects) if choices else [])

    def filters(self) -> dict:
        if not self.is_bound:
            return {}
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {key: value for key, value in data.items()
                if key != "sort" and value not in (None, "")}
