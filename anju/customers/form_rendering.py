"""A form renderer that writes Django's most common widget templates in Python.

Django renders every `<option>`, checkbox and `<input>` through its template engine (attrs,
option and label templates included one by one): the list page's filter form (~60 options)
and the 360° page's forms cost ~10–20 ms a page that way. `FAST_RENDERER` produces the same
HTML, character for character, as Django's own templates of the same names
(`django/forms/templates/django/forms/...`, Django 6.1), escaping and localising each value as
`{{ }}` does; any other template, or a request-bound render, goes to the templates.
`anju/customers/tests/test_form_rendering.py` compares both on every form of the pages."""

import html as stdlib_html

from django.forms.renderers import DjangoTemplates
from django.template.base import render_value_in_context
from django.template.context import Context
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData

_CONTEXT = Context(autoescape=True)


def _out(value) -> str:
    """What `{{ value }}` writes (a plain string: neither localised nor converted, escaped
    by the very call inside Django's `escape`)."""
    if type(value) is str:
        return stdlib_html.escape(value)
    return render_value_in_context(value, _CONTEXT)


def _fmt(value) -> str:
    """What `{{ value|stringformat:'s' }}` writes."""
    if type(value) is str:
        return stdlib_html.escape(value)
    text = "%s" % (value,)  # noqa: UP031 -- the very formatting `stringformat` applies
    return text if isinstance(value, SafeData) else conditional_escape(text)


def _attrs(attrs) -> str:
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(" " + _out(name))
        if value is not True:
            parts.append('="' + _fmt(value) + '"')
    return "".join(parts)


def _input(widget) -> str:
    value = widget["value"]
    html = f'<input type="{_out(widget["type"])}" name="{_out(widget["name"])}"'
    if value is not None:
        html += f' value="{_fmt(value)}"'
    return html + _attrs(widget["attrs"]) + ">\n"


def _input_option(widget) -> str:
    if not widget.get("wrap_label"):
        return _input(widget) + "\n"
    option_id = widget["attrs"].get("id")
    label_open = f'<label for="{_out(option_id)}">' if option_id else "<label>"
    return label_open + _input(widget) + " " + _out(widget["label"]) + "</label>\n"


def _choice_option(widget) -> str:
    """checkbox_option.html / radio_option.html: input_option.html and a newline."""
    return _input_option(widget) + "\n"


def _select_option(widget) -> str:
    return (f'<option value="{_fmt(widget["value"])}"{_attrs(widget["attrs"])}>'
            f'{_out(widget["label"])}</option>\n')


_OPTIONS = {
    "django/forms/widgets/select_option.html": _select_option,
    "django/forms/widgets/checkbox_option.html": _choice_option,
    "django/forms/widgets/radio_option.html": _choice_option,
    "django/forms/widgets/input_option.html": _input_option,
}


def _option_html(option) -> str | None:
    render = _OPTIONS.get(option.get("template_name"))
    return None if render is None else render(option)


def _select(context) -> str | None:
    widget = context["widget"]
    html = [f'<select name="{_out(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            html.append(f'\n  <optgroup label="{_out(group_name)}">')
        for option in group_choices:
            option_html = _option_html(option)
            if option_html is None:
                return None
            html.append("\n  " + option_html)
        if group_name:
            html.append("\n  </optgroup>")
    html.append("\n</select>\n")
    return "".join(html)


def _multiple_input(context) -> str | None:
    widget = context["widget"]
    option_id = widget["attrs"].get("id")
    css_class = widget["attrs"].get("class")
    html = ["<div"]
    if option_id:
        html.append(f' id="{_out(option_id)}"')
    if css_class:
        html.append(f' class="{_out(css_class)}"')
    html.append(">")
    for group, options, _index in widget["optgroups"]:
        if group:
            html.append(f"\n  <div><label>{_out(group)}</label>")
        for option in options:
            option_html = _option_html(option)
            if option_html is None:
                return None
            html.append("<div>\n    " + option_html + "</div>")
        if group:
            html.append("\n  </div>")
    html.append("\n</div>")
    return "".join(html)


def _textarea(context) -> str:
    widget = context["widget"]
    value = widget["value"]
    return (f'<textarea name="{_out(widget["name"])}"{_attrs(widget["attrs"])}>\n'
            f'{_out(value) if value else ""}</textarea>')


def _error_list(context) -> str:
    """errors/list/default.html and ul.html: nothing at all for a field without errors,
    which is what nearly every field of a page renders."""
    errors = context["errors"]
    if not errors:
        return ""
    field_id = getattr(errors, "field_id", None)
    html = [f'<ul class="{_out(context["error_class"])}"']
    if field_id:
        html.append(f' id="{_out(field_id)}_error"')
    html.append(">")
    html.extend(f"<li>{_out(error)}</li>" for error in errors)
    html.append("</ul>")
    return "".join(html)


def _label(context) -> str:
    if not context.get("use_tag"):
        return _out(context["label"])
    tag = _out(context["tag"])
    return f'<{tag}{_attrs(context["attrs"])}>{_out(context["label"])}</{tag}>'


_INPUTS = ("text", "number", "email", "url", "password", "hidden", "date", "datetime",
           "time", "search", "tel", "checkbox", "input")
_FAST = {
    **{f"django/forms/widgets/{name}.html": lambda c: _input(c["widget"]) for name in _INPUTS},
    "django/forms/widgets/select.html": _select,
    "django/forms/widgets/checkbox_select.html": _multiple_input,
    "django/forms/widgets/radio.html": _multiple_input,
    "django/forms/widgets/multiple_input.html": _multiple_input,
    "django/forms/widgets/textarea.html": _textarea,
    "django/forms/label.html": _label,
    "django/forms/errors/list/default.html": _error_list,
    "django/forms/errors/list/ul.html": _error_list,
}


class FastWidgetRenderer(DjangoTemplates):
    """Django's default renderer, with the templates above written in Python."""

    def render(self, template_name, context, request=None):
        fast = _FAST.get(template_name) if request is None else None
        if fast is not None:
            try:
                html = fast(context)
            except (KeyError, TypeError, AttributeError):
                html = None
            if html is not None:
                return html.strip()
        return super().render(template_name, context, request)


FAST_RENDERER = FastWidgetRenderer()
