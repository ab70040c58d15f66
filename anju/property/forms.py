"""Forms of the property pages: parsing only; the rules live in the services."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import MAX_FLOORS, MAX_UNITS_PER_FLOOR, Unit, UnitType
from .selectors import BoardFilters

WAN = Decimal("10000")


class BoardFilterForm(forms.Form):
    unit_type = forms.TypedChoiceField(label=_("unit type"), required=False, coerce=int,
                                       empty_value=None)
    status = forms.MultipleChoiceField(label=_("status"), required=False,
                                       choices=Unit.Status.choices,
                                       widget=forms.CheckboxSelectMultiple)
    price_min = forms.DecimalField(label=_("from (万元)"), required=False, min_value=0,
                                   max_digits=10, decimal_places=2)
    price_max = forms.DecimalField(label=_("to (万元)"), required=False, min_value=0,
                                   max_digits=10, decimal_places=2)

    def __init__(self, *args, unit_types=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit_type"].choices = [("", _("all unit types")), *unit_types]

    def clean(self):
        data = super().clean()
        low, high = data.get("price_min"), data.get("price_max")
        if low is not None and high is not None and low > high:
            self.add_error("price_max", _("The upper price is below the lower one."))
        return data

    def filters(self) -> BoardFilters:
        if not self.is_bound or not self.is_valid():
            return BoardFilters()
        data = self.cleaned_data
        return BoardFilters(
            unit_type=data.get("unit_type"),
            statuses=frozenset(data.get("status") or ()),
            price_min=None if data.get("price_min") is None else data["price_min"] * WAN,
            price_max=None if data.get("price_max") is None else data["price_max"] * WAN)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=500, required=False,
                             widget=forms.Textarea(attrs={"rows": 3}))


class BuildingPatternForm(forms.Form):
    project = forms.TypedChoiceField(label=_("project"), coerce=int)
    name = forms.CharField(label=_("name"), max_length=50)
    code = forms.CharField(label=_("code"), max_length=16,
                           help_text=_("Put in front of unit numbers: 3 gives 3-1201."))
    floor_count = forms.IntegerField(label=_("floors"), min_value=1, max_value=MAX_FLOORS)
    units_per_floor = forms.IntegerField(label=_("units per floor"), min_value=1,
                                         max_value=MAX_UNITS_PER_FLOOR)
    type_map = forms.CharField(
        label=_("unit type per position"), required=False,
        help_text=_("Unit type names of positions 1, 2, … separated by commas, e.g. "
                    "A户型, B户型, B户型, A户型. Empty positions use the built area below."))
    default_area = forms.DecimalField(label=_("built area of untyped positions (m²)"),
                                      required=False, min_value=1, max_digits=9,
                                      decimal_places=2)
    base_unit_price = forms.DecimalField(label=_("base price (yuan/m², floor 1)"),
                                         min_value=Decimal("0.01"), max_digits=12,
                                         decimal_places=2)
    floor_increment = forms.DecimalField(label=_("price step per floor (yuan/m²)"),
                                         initial=0, max_digits=12, decimal_places=2)
    floor_price_ratio = forms.DecimalField(
        label=_("floor price as a share of the list price"), required=False,
        min_value=Decimal("0.01"), max_value=1, max_digits=5, decimal_places=4,
        help_text=_("e.g. 0.95; leave empty for no floor price."))

    def __init__(self, *args, projects=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [(p.pk, p.name) for p in projects]


class UnitTypeForm(forms.ModelForm):
    class Meta:
        model = UnitType
        fields = ["name", "rooms", "halls", "bathrooms", "built_area", "usable_area",
                  "orientation"]

    floor_plan = forms.FileField(
        label=_("floor plan"), required=False,
        help_text=_("A JPEG, PNG or WebP image of at most 5 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))


class PriceImportForm(forms.Form):
    project = forms.TypedChoiceField(label=_("project"), coerce=int)
    file = forms.FileField(label=_("price list (xlsx or csv)"),
                           widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}))

    def __init__(self, *args, projects=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [(p.pk, p.name) for p in projects]
