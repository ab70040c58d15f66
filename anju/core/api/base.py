"""The base classes of every Anju API view. Inherit from these, never from DRF's directly.

- `AnjuAPIView`, `AnjuGenericViewSet`: idempotent writes (`Idempotency-Key`, see
  `anju.core.api.idempotency`), the audit actor set after token authentication, and the
  site's error shapes (`anju.core.api.errors`).
- `ScopedModelViewSet`, `ScopedReadOnlyModelViewSet`: the queryset is always
  `model.objects.visible_to(request.user)`, so a row outside the user's data scope is a 404.
  Subclasses may NOT override `get_queryset` (TypeError at import); they narrow or prefetch in
  `scope_queryset(qs)`. Writes go through services: implement `perform_create`,
  `perform_update`, `perform_destroy` by calling the app's service and setting
  `serializer.instance` to what it returns. For models with a `version` column, PUT and
  PATCH must carry `version` (400 otherwise) and `self.expected_version(serializer)` hands it
  to the service, whose `update_versioned` conflict becomes a 409.

    class ProjectViewSet(ScopedModelViewSet):
        model = Project
        serializer_class = ProjectSerializer

        def scope_queryset(self, qs):
            return qs.select_related("company")

        def perform_update(self, serializer):
            serializer.instance = project_update(
                actor=self.request.user, project=serializer.instance,
                expected_version=self.expected_version(serializer),
                changes=serializer.validated_data)
"""

from typing import Any, ClassVar

from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from anju.core.api.idempotency import IdempotencyMixin
from anju.core.audit import audit_set_actor


class AnjuViewMixin(IdempotencyMixin):
    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        audit_set_actor(request.user)


class AnjuAPIView(AnjuViewMixin, APIView):
    """A plain API view with Anju's idempotency, audit actor and error handling."""


class AnjuGenericViewSet(AnjuViewMixin, viewsets.GenericViewSet):
    """A viewset over something that is not a scoped model (bring your own `get_queryset`)."""


class _ScopedMixin:
    model: ClassVar[type[models.Model] | None] = None
    _scoped_bases: ClassVar[set[str]] = set()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__ == __name__:
            return
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__qualname__} overrides get_queryset(); a scoped viewset's rows always "
                "come from model.objects.visible_to(user). Narrow them in scope_queryset(qs).")
        if "queryset" in cls.__dict__:
            raise TypeError(f"{cls.__qualname__} sets queryset; set model = <Model> instead.")

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        """Hook for select_related/prefetch_related/annotate/filters on the scoped rows."""
        return qs

    def get_queryset(self) -> QuerySet:
        model = self.model
        if model is None:
            raise TypeError(f"{type(self).__qualname__} must set model = <Model>")
        qs = model._default_manager.visible_to(self.request.user)
        return self.scope_queryset(qs)

    # --- optimistic locking --------------------------------------------------------------

    def _is_versioned(self) -> bool:
        model = self.model
        return model is not None and any(f.name == "version" for f in model._meta.fields)

    def update(self, request: Request, *args: Any, **kwargs: Any):
        if self._is_versioned():
            self._require_version(request)
        return super().update(request, *args, **kwargs)

    def _require_version(self, request: Request) -> int:
        data = request.data
        raw = data.get("version") if hasattr(data, "get") else None
        if raw in (None, ""):
            raise ValidationError({"version": [_("This field is required.")]})
        try:
            version = int(raw)
        except (TypeError, ValueError):
            raise ValidationError({"version": [_("A valid integer is required.")]}) from None
        if version < 1:
            raise ValidationError({"version": [_("A valid integer is required.")]})
        return version

    def expected_version(self, serializer: serializers.BaseSerializer | None = None) -> int:
        """The version the client read, for `update_versioned`; taken out of the serializer's
        validated_data so the changes handed to the service hold only real fields."""
        version = self._require_version(self.request)
        if serializer is not None and hasattr(serializer, "validated_data"):
            serializer.validated_data.pop("version", None)
        return version


class VersionedSerializerMixin(serializers.Serializer):
    """Shows `version` in responses and documents it in request bodies (the viewset requires
    it on PUT/PATCH and `expected_version(serializer)` takes it out of validated_data)."""

    version = serializers.IntegerField(min_value=1, required=False)


class ScopedModelViewSet(_ScopedMixin, AnjuViewMixin, viewsets.ModelViewSet):
    """List, retrieve, create, update, destroy over `model.objects.visible_to(user)`."""


class ScopedReadOnlyModelViewSet(_ScopedMixin, AnjuViewMixin, viewsets.ReadOnlyModelViewSet):
    """List and retrieve over `model.objects.visible_to(user)`."""


class ScopedGenericViewSet(_ScopedMixin, AnjuViewMixin, viewsets.GenericViewSet):
    """Pick your own mixins (e.g. list + retrieve + update) over the scoped rows."""

