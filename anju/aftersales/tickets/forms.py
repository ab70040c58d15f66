"""Page forms of tickets: they parse; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from anju.aftersales.models import TicketChannel, TicketType, TicketUrgency


class ReceptionForm(forms.Form):
    ticket_type = forms.ChoiceField(label=_("type"), choices=TicketType.choices,
                                    initial=TicketType.REPAIR)
    channel = forms.ChoiceField(label=_("channel"), choices=TicketChannel.choices,
                                initial=TicketChannel.CALL_CENTRE)
    urgency = forms.ChoiceField(label=_("urgency"), choices=TicketUrgency.choices,
                                initial=TicketUrgency.NORMAL)
    customer = forms.IntegerField(label=_("customer (number)"), required=False, min_value=1)
    unit = forms.IntegerField(label=_("unit"), required=False, min_value=1,
                              widget=forms.Select)
    project = forms.IntegerField(label=_("project"), required=False, min_value=1,
                                 widget=forms.Select)
    public_area = forms.CharField(label=_("public area"), required=False, max_length=100)
    location = forms.IntegerField(label=_("location"), required=False, min_value=1,
                                  widget=forms.Select)
    component = forms.IntegerField(label=_("component"), required=False, min_value=1,
                                   widget=forms.Select)
    category = forms.IntegerField(label=_("problem category"), required=False, min_value=1,
                                  widget=forms.Select)
    description_ref = forms.IntegerField(label=_("common description"), required=False,
                                         min_value=1, widget=forms.Select)
    description = forms.CharField(label=_("description"), max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    first_line = forms.BooleanField(label=_("received by headquarters (一线处理)"),
                                    required=False)
    photos = forms.FileField(label=_("photos"), required=False,
                             widget=forms.ClearableFileInput(attrs={"accept": "image/*"}))


class DispatchForm(forms.Form):
    user = forms.IntegerField(label=_("worker"), required=False, min_value=1,
                              widget=forms.Select)
    team = forms.IntegerField(label=_("department or team"), required=False, min_value=1,
                              widget=forms.Select)
    contractor = forms.CharField(label=_("contractor"), required=False, max_length=100)
    deadline = forms.DateTimeField(label=_("deadline"), required=False,
                                   widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    note = forms.CharField(label=_("note"), required=False, max_length=2000)


class ScoreForm(forms.Form):
    score = forms.TypedChoiceField(label=_("satisfaction"), coerce=int,
                                   choices=[(n, str(n)) for n in range(5, 0, -1)])
    comment = forms.CharField(label=_("comment"), required=False, max_length=2000)


class NoteForm(forms.Form):
    note = forms.CharField(label=_("note"), required=False, max_length=2000)


class LibraryImportForm(forms.Form):
    file = forms.FileField(label=_("xlsx file"))


class QualityForm(forms.Form):
    month = forms.CharField(label=_("month"), required=False, max_length=7,
                            widget=forms.TextInput(attrs={"type": "month"}))
    project = forms.IntegerField(label=_("project"), required=False, min_value=1)
