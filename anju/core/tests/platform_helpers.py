"""Test-only users, a scoped viewset over accounts.Project and a throwaway API for the
platform tests. Models are looked up by label: the kernel imports no app, not even in tests."""

from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.urls import include, path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.throttling import BaseThrottle

from anju.core.api.base import AnjuAPIView, ScopedModelViewSet, VersionedSerializerMixin
from anju.core.locking import update_versioned


def model(label: str):
    return apps.get_model(label)


def make_company(name: str = "安居地产", code: str = "anju"):
    return model("accounts.Company").objects.create(name=name, code=code)


def make_project(company, name: str, code: str):
    return model("accounts.Project").objects.create(company=company, name=name, code=code)


def make_user(username: str, *, role: str = "sales_consultant", projects=(),
              scope_level: str = "project", read_audit: bool | None = None, **extra: Any):
    Role = model("accounts.Role")
    role_obj, _created = Role.objects.get_or_create(code=role)
    if read_audit is not None and role_obj.can_read_audit != read_audit:
        role_obj.can_read_audit = read_audit
        role_obj.save(update_fields=["can_read_audit"])
    user = get_user_model().objects.create_user(username=username, password="pw-1234567890",
                                                role=role_obj, scope_level=scope_level, **extra)
    if projects:
        user.projects.set(projects)
    return user


# --- a scoped, versioned resource ------------------------------------------------------------


class ProjectSerializer(VersionedSerializerMixin, serializers.ModelSerializer):
    class Meta:
        model = apps.get_model("accounts.Project")
        fields = ["id", "name", "code", "city", "company", "version"]


@transaction.atomic
def project_create_for_test(*, name: str, code: str, company, city: str = ""):
    return model("accounts.Project").objects.create(name=name, code=code, company=company,
                                                    city=city)


def project_update_for_test(*, project, expected_version: int, changes: dict):
    return update_versioned(project, expected_version=expected_version, changes=changes)


class ProjectViewSet(ScopedModelViewSet):
    model = apps.get_model("accounts.Project")
    serializer_class = ProjectSerializer

    def scope_queryset(self, qs):
        return qs.select_related("company").order_by("id")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("version", None)
        serializer.instance = project_create_for_test(**data)

    def perform_update(self, serializer):
        version = self.expected_version(serializer)
        serializer.instance = project_update_for_test(
            project=serializer.instance, expected_version=version,
            changes=dict(serializer.validated_data))


# --- a throwaway API that fails in every way ---------------------------------------------------


class EchoSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=10)
    count = serializers.IntegerField()


class AlwaysThrottled(BaseThrottle):
    def allow_request(self, request, view):
        return False

    def wait(self):
        return 30


class EchoView(AnjuAPIView):
    def post(self, request):
        serializer = EchoSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data, status=201)


class ServiceErrorView(AnjuAPIView):
    def post(self, request):
        kind = request.data.get("kind")
        if kind == "validation":
            raise DjangoValidationError({"phone": ["Enter a valid mobile number."]})
        if kind == "validation_plain":
            raise DjangoValidationError("The unit is no longer available.")
        if kind == "permission":
            raise PermissionDenied("Only managers may approve discounts.")
        if kind == "missing":
            raise model("accounts.Project").DoesNotExist
        raise RuntimeError("secret internals: password=hunter2")


class ThrottledView(AnjuAPIView):
    throttle_classes = [AlwaysThrottled]

    def get(self, request):
        return Response({})


class CountingView(AnjuAPIView):
    """Counts its runs, to show a replay does not run the view again; 500s on request."""

    calls = 0

    def post(self, request):
        type(self).calls += 1
        if request.data.get("fail"):
            raise RuntimeError("boom")
        return Response({"call": type(self).calls, "echo": request.data}, status=201)


router = DefaultRouter()
router.register("projects", ProjectViewSet, basename="project")

urlpatterns = [
    path("api/v1/", include(router.urls)),
    path("api/v1/echo/", EchoView.as_view()),
    path("api/v1/service-error/", ServiceErrorView.as_view()),
    path("api/v1/throttled/", ThrottledView.as_view()),
    path("api/v1/counting/", CountingView.as_view()),
]
