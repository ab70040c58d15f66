"""`/api/v1/audit/`: the audit trail for auditors, read-only, keyset-paginated, filterable."""

from auditlog.models import LogEntry
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from anju.core.api.base import AnjuGenericViewSet
from anju.core.audit import audit_present, audit_queryset


class AuditFilterSerializer(serializers.Serializer):
    actor = serializers.CharField(required=False, max_length=150,
                                  help_text="User id or part of a user name")
    model = serializers.CharField(required=False, max_length=100,
                                  help_text='"app_label.model", e.g. "accounts.project"')
    object_id = serializers.CharField(required=False, max_length=64)
    text = serializers.CharField(required=False, max_length=100)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs: dict) -> dict:
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end and start > end:
            from django.utils.translation import gettext as _

            raise serializers.ValidationError(
                {"date_to": [_("The end date is before the start date.")]})
        return attrs


class AuditChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField()
    before = serializers.CharField()
    after = serializers.CharField()


class AuditEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    action = serializers.CharField()
    action_label = serializers.CharField()
    actor_id = serializers.IntegerField(allow_null=True)
    actor_name = serializers.CharField()
    model = serializers.CharField()
    model_label = serializers.CharField()
    object_pk = serializers.CharField()
    object_repr = serializers.CharField()
    remote_addr = serializers.CharField(allow_null=True)
    changes = AuditChangeSerializer(many=True)


class AuditViewSet(mixins.ListModelMixin, AnjuGenericViewSet):
    """Changes to registered records: who, when, what, before and after (auditors only)."""

    serializer_class = AuditEntrySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no user
            return LogEntry.objects.none()
        params = AuditFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return audit_queryset(viewer=self.request.user, **params.validated_data)

    @extend_schema(parameters=[AuditFilterSerializer])
    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        entries = audit_present(list(page))
        return self.get_paginated_response(self.get_serializer(entries, many=True).data)


def register(router: DefaultRouter) -> None:
    router.register("audit", AuditViewSet, basename="audit")
