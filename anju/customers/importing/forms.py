"""Forms of the import pages: they parse and present; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from anju.accounts.models import Company, Project

from .mapping import FIELD_CHOICES
from .services import max_upload_bytes, owner_choices


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("File (.xlsx or .csv)"))
    project = forms.ModelChoiceField(label=_("project"), queryset=Project.objects.none(),
                                     required=False)
    company = forms.ModelChoiceField(label=_("company"), queryset=Company.objects.none(),
                                     required=False,
                                     help_text=_("Only needed when no project is chosen."))
    owner = forms.ModelChoiceField(label=_("owning consultant"), queryset=None,
                                   required=False,
                                   help_text=_("Leave blank to own the customers yourself."))

    def __init__(self, *args, viewer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = Project.objects.visible_to(viewer).filter(
            is_active=True).select_related("company")
        self.fields["company"].queryset = Company.objects.visible_to(viewer).distinct()
        self.fields["owner"].queryset = owner_choices(actor=viewer)
        self.fields["file"].widget.attrs["accept"] = ".xlsx,.csv"
        self.max_bytes = max_upload_bytes()


class ImportMappingForm(forms.Form):
    """One choice per column of the file: which field it holds."""

    def __init__(self, *args, headers: list[str], columns: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header or _("(column %(number)d)") % {"number": index + 1},
                choices=FIELD_CHOICES, required=False,
                initial=columns.get(str(index), ""))

    def columns(self) -> dict[str, str]:
        return {name.removeprefix("col_"): value or ""
                for name, value in self.cleaned_data.items()}
