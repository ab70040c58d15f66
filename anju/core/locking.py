"""Optimistic locking for models with a `version` column (`anju.core.models.VersionedModel`).

A reader keeps the version it saw; a writer names it. `update_versioned` turns that into one
conditional UPDATE (`... WHERE pk = %s AND version = %s`, `version = version + 1`); when no
row matched, someone else saved first and `VersionConflict` carries both sides so the page or
the API can show them, field by field, without overwriting anything.

Pages: put `VersionedFormMixin` on the form (a hidden `version` field), call the service,
and on `VersionConflict` render `core/conflict.html` with `conflict_context(...)`.
API: the base viewset requires `version` in PUT/PATCH bodies of versioned resources and the
exception handler answers 409 `{"code": "conflict", "yours": {...}, "current": {...}}`."""

from copy import copy
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class VersionConflict(Exception):
    """Raised when the row's version moved on since the writer read it."""

    def __init__(self, *, current: models.Model, attempted: dict[str, Any],
                 expected_version: int | None = None) -> None:
        self.current = current
        self.attempted = dict(attempted)
        self.expected_version = expected_version
        super().__init__(f"{type(current).__name__} #{current.pk} is at version "
                         f"{getattr(current, 'version', '?')}, not {expected_version}")


def _model_of[M: models.Model](model_or_instance: type[M] | M) -> type[M]:
    if isinstance(model_or_instance, models.Model):
        return type(model_or_instance)
    return model_or_instance


def _concrete_field(model: type[models.Model], name: str) -> models.Field:
    field = model._meta.get_field(name)
    if not getattr(field, "concrete", False) or field.many_to_many:
        raise ValueError(f"{model.__name__}.{name} cannot be set by update_versioned")
    return field


@transaction.atomic
def update_versioned[M: models.Model](model_or_instance: type[M] | M, *, pk: Any = None,
                     expected_version: int, changes: dict[str, Any],
                     validate: bool = True) -> M:
    """Apply `changes` to row `pk` if it is still at `expected_version`; return the fresh row.

    Raises `VersionConflict` (nothing written) when the version moved on, `DoesNotExist`
    when the row is gone, Django's `ValidationError` (field dict) when `validate` and the
    changed fields fail their model validation. Many-to-many fields are not accepted here.
    Registered audit models get their before/after entry (`anju.core.audit`)."""
    from anju.core import audit  # audit builds on auditlog; imported late to keep this light

    model = _model_of(model_or_instance)
    if pk is None:
        if not isinstance(model_or_instance, models.Model):
            raise TypeError("update_versioned needs pk= when given a model class")
        pk = model_or_instance.pk
    manager = model._default_manager
    fields = {name: _concrete_field(model, name) for name in changes}
    if "version" in fields:
        raise ValueError("version is managed by update_versioned")

    before = manager.get(pk=pk)
    if before.version != expected_version:
        raise VersionConflict(current=before, attempted=changes, expected_version=expected_version)
    if validate:
        candidate = copy(before)
        for name, value in changes.items():
            setattr(candidate, name, value)
        names = {field.name for field in fields.values()}
        exclude = [f.name for f in model._meta.concrete_fields if f.name not in names]
        candidate.full_clean(exclude=exclude)

    values: dict[str, Any] = {**changes, "version": F("version") + 1}
    for field in model._meta.concrete_fields:
        if getattr(field, "auto_now", False) and field.name not in values:
            values[field.name] = timezone.now()
    matched = manager.filter(pk=pk, version=expected_version).update(**values)
    current = manager.get(pk=pk)
    if not matched:
        raise VersionConflict(current=current, attempted=changes, expected_version=expected_version)
    audit.record_update(before=before, after=current)
    return current


# --- pages ---------------------------------------------------------------------------------


class VersionedFormMixin(forms.Form):
    """A hidden `version` field for a form that edits a versioned record.

    Initialise with `initial={"version": obj.version, ...}` (a ModelForm given `instance`
    does it itself); after `is_valid()`, `form.expected_version` is what the service needs."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1,
                                 error_messages={"required": _("The form is missing its version; "
                                                               "reload the page.")})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = getattr(self, "instance", None)
        if instance is not None and instance.pk and "version" not in self.initial:
            self.initial["version"] = instance.version

    @property
    def expected_version(self) -> int:
        return int(self.cleaned_data["version"])


@dataclass(frozen=True)
class ConflictRow:
    name: str
    label: str
    yours: str
    saved: str
    differs: bool


def _display(obj: models.Model, field: models.Field, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, models.Model):
        return str(value)
    if field.is_relation and field.related_model is not None:
        related = field.related_model._default_manager.filter(pk=value).first()
        return str(related) if related is not None else str(value)
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    return str(value)


def conflict_rows(conflict: VersionConflict,
                  field_names: list[str] | None = None) -> list[ConflictRow]:
    """"Your version" next to "the saved version", one row per field the writer sent."""
    current = conflict.current
    model = type(current)
    rows = []
    for name in field_names or list(conflict.attempted):
        try:
            field = model._meta.get_field(name)  # a name or an attname ("company_id")
        except FieldDoesNotExist:  # a form-only field
            continue
        if not getattr(field, "concrete", False) or field.many_to_many:
            continue
        yours = conflict.attempted.get(name)
        saved = getattr(current, field.attname if field.is_relation else field.name)
        yours_key = yours.pk if isinstance(yours, models.Model) else yours
        rows.append(ConflictRow(
            name=name,
            label=str(field.verbose_name),
            yours=_display(current, field, yours),
            saved=_display(current, field, saved),
            differs=str(yours_key if yours_key is not None else "")
            != str(saved if saved is not None else ""),
        ))
    return rows


def conflict_context(conflict: VersionConflict, *,
                     field_names: list[str] | None = None) -> dict[str, Any]:
    """The context `core/conflict.html` needs: the rows and the saved version's number."""
    return {
        "conflict": conflict,
        "conflict_rows": conflict_rows(conflict, field_names),
        "current_version": getattr(conflict.current, "version", None),
        "saved_at": getattr(conflict.current, "updated_at", None),
    }
