"""`/api/v1/notifications/`: the signed-in user's own inbox.

    GET  /api/v1/notifications/?unread=true     newest first, cursor pages
    POST /api/v1/notifications/read/            {"ids": [1, 2]} -> {"marked": 2, "unread": 5}
    POST /api/v1/notifications/read-all/        {} -> {"marked": 7, "unread": 0}

Ids of other users' notifications are ignored, never revealed."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from anju.core.api.base import AnjuGenericViewSet
from anju.core.models import Notification
from anju.core.notifications.selectors import inbox_for, unread_count
from anju.core.notifications.services import (
    notification_mark_all_read,
    notification_mark_read,
)


class NotificationSerializer(serializers.ModelSerializer):
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "level", "title", "body", "url", "read", "read_at", "created_at"]
        read_only_fields = fields

    def get_read(self, obj: Notification) -> bool:
        return obj.read_at is not None


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False,
                                max_length=1000)


MarkedSerializer = inline_serializer("NotificationsMarked", {
    "marked": serializers.IntegerField(), "unread": serializers.IntegerField()})


class NotificationViewSet(mixins.ListModelMixin, AnjuGenericViewSet):
    serializer_class = NotificationSerializer

    def get_queryset(self):
        unread_only = self.request.query_params.get("unread") in ("1", "true", "yes")
        return inbox_for(user=self.request.user, unread_only=unread_only)

    @extend_schema(parameters=[OpenApiParameter("unread", bool, description="only unread")])
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=MarkReadSerializer, responses=MarkedSerializer)
    @action(detail=False, methods=["post"], url_path="read")
    def mark_read(self, request: Request) -> Response:
        serializer = MarkReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = notification_mark_read(user=request.user, ids=serializer.validated_data["ids"])
        return Response({"marked": marked, "unread": unread_count(user=request.user)})

    @extend_schema(request=None, responses=MarkedSerializer)
    @action(detail=False, methods=["post"], url_path="read-all")
    def mark_all_read(self, request: Request) -> Response:
        marked = notification_mark_all_read(user=request.user)
        return Response({"marked": marked, "unread": 0})


def register(router: DefaultRouter) -> None:
    router.register("notifications", NotificationViewSet, basename="notification")
