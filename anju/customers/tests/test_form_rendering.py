"""The fast form renderer writes exactly what Django's widget templates write."""

import datetime

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.urls import reverse
from django.utils.safestring import mark_safe

from anju.customers import selectors
from anju.customers.form_rendering import FAST_RENDERER
from anju.customers.forms import (
    HouseholdForm,
    InteractionForm,
    ListFilterForm,
    NeedForm,
    PhoneAddForm,
    SavedFilterForm,
    TagsForm,
    TierOverrideForm,
)
from anju.customers.models import Tag, TagDimension

pytestmark = pytest.mark.django_db
DJANGO = DjangoTemplates()


class EveryWidget(forms.Form):
    text = forms.CharField(label='名 <b>&"', widget=forms.TextInput(
        attrs={"data-x": '<"&>', "disabled": True, "hidden": False, "class": "a b"}))
    number = forms.IntegerField()
    email = forms.EmailField()
    url = forms.URLField()
    password = forms.CharField(widget=forms.PasswordInput(render_value=True))
    hidden = forms.CharField(widget=forms.HiddenInput)
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    when = forms.DateTimeField()
    time = forms.TimeField()
    flag = forms.BooleanField(required=False)
    choice = forms.ChoiceField(choices=[("", "any"), ("a", "<A>"), ("组", [
        (1, mark_safe("<i>safe</i>")), (2, "two & more")]), (3, 1234567)])
    many = forms.MultipleChoiceField(choices=[("x", "X"), ("y", '"Y"'), ("组", [("z", "Z")])],
                                     widget=forms.CheckboxSelectMultiple(attrs={"class": "c"}))
    radio = forms.ChoiceField(choices=[("r", "R"), ("s", "<S>")], widget=forms.RadioSelect)
    multi = forms.MultipleChoiceField(choices=[("m", "M"), ("n", "N")])
    note = forms.CharField(widget=forms.Textarea)


@pytest.fixture
def tags(db):
    dimension, _ = TagDimension.objects.get_or_create(code="render_test", defaults={
        "name": "维度 <d>", "allows_many": True})
    return [Tag.objects.create(dimension=dimension, name=name) for name in ("学区", "<地铁>")]


def _html(form_class, *args, **kwargs) -> tuple[list[str], list[str]]:
    rendered = []
    for renderer in (DJANGO, FAST_RENDERER):
        form = form_class(*args, renderer=renderer, **kwargs)
        rendered.append([str(form), *[str(field) + field.label_tag() for field in form]])
    return rendered[0], rendered[1]


@pytest.mark.parametrize("data", [None, {}, {
    "text": '<script>"x"</script>', "number": "12x", "email": "a@b", "url": "u",
    "password": "p&", "hidden": "h", "date": "2026-01-02", "when": "2026-01-02 03:04",
    "time": "25:00", "flag": "on", "choice": "1", "many": ["y", "z"], "radio": "s",
    "multi": ["m", "n"], "note": "<n>"}])
def test_every_widget_renders_identically(data):
    django_html, fast_html = _html(EveryWidget, data)
    assert fast_html == django_html


def test_initial_values_render_identically():
    initial = {"text": mark_safe("<b>"), "number": 1234567, "date": datetime.date(2026, 1, 2),
               "when": datetime.datetime(2026, 1, 2, 3, 4), "choice": 3, "many": ["x"],
               "flag": True}
    django_html, fast_html = _html(EveryWidget, initial=initial)
    assert fast_html == django_html


def test_the_ledger_forms_render_identically(people, make_customer, tags):
    viewer = people["manager"]
    choices = selectors.list_filter_choices(viewer=viewer)
    groups = choices.tags
    for args, kwargs, form_class in [
        ((None,), {"choices": choices}, ListFilterForm),
        (({"tier": "vip", "tag": "x", "contact_after": "bad"},), {"choices": choices},
         ListFilterForm),
        ((), {"initial": {"query": "a=1&b=<2>"}}, SavedFilterForm),
        ((), {"initial": {"kind": "call"}}, InteractionForm),
        (({"kind": "nope"},), {}, InteractionForm),
        ((), {}, PhoneAddForm),
        ((), {"groups": groups, "initial": {"tags": []}}, TagsForm),
        ((), {"initial": {"unit_types": "三房、四房", "purpose": "first_home"}}, NeedForm),
        (({"budget_min_wan": "x"},), {}, NeedForm),
        ((), {}, HouseholdForm),
        ((), {"initial": {"tier": "vip", "reason": "<why>"}}, TierOverrideForm),
    ]:
        django_html, fast_html = _html(form_class, *args, **kwargs)
        assert fast_html == django_html, form_class.__name__


def test_pages_use_it(client_for, people, make_customer):
    customer = make_customer("张三", owner=people["consultant"])
    client = client_for(people["consultant"])
    for url in (reverse("customers:list"), reverse("customers:detail", args=[customer.pk])):
        assert client.get(url).status_code == 200


class WithFormErrors(EveryWidget):
    def clean(self):
        raise forms.ValidationError(['全局 <错误> & "引号"', mark_safe("<i>safe</i>")])


def test_error_lists_render_identically():
    data = {"text": "", "number": "x", "email": "<bad>", "choice": "nope", "note": ""}
    rendered = []
    for renderer in (DJANGO, FAST_RENDERER):
        form = WithFormErrors(data, renderer=renderer)
        rendered.append([str(form.non_field_errors()),
                         *[str(field.errors) for field in form]])
    django_html, fast_html = rendered
    assert fast_html == django_html
    assert 'id="id_number_error"' in fast_html[0] + "".join(fast_html)
    assert "&lt;错误&gt; &amp; &quot;引号&quot;" in fast_html[0]
    assert "" in fast_html  # a field without errors renders nothing
