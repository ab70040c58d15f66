"""The accounts API: users, projects, companies, teams, "me", and token sign-in.

Rows come from `visible_to(user)` (the scoped base viewsets), writes from `services`, errors
in the site's shape (`anju.core.api.errors`); phones are always masked (`?unmask=phone` for
users who may unmask, logged)."""

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from anju.core.api.base import (
    AnjuGenericViewSet,
    ScopedGenericViewSet,
    ScopedReadOnlyModelViewSet,
    VersionedSerializerMixin,
)
from anju.core.api.sensitive_api import MaskedPhoneField

from . import services
from .models import Company, Project, Team, User


class HasPerm(BasePermission):
    """The rules permission named per action in the view's `perms` ({action: perm})."""

    def has_permission(self, request, view) -> bool:
        perm = getattr(view, "perms", {}).get(view.action)
        return perm is None or request.user.has_perm(perm)


# --- serializers ----------------------------------------------------------------------------
class CompanySerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", "name", "code", "version"]


class ProjectSerializer(VersionedSerializerMixin, serializers.ModelSerializer):
    company_name = serializers.CharField(source="company.name", read_only=True)

    class Meta:
        model = Project
        fields = ["id", "company", "company_name", "name", "code", "city", "district",
                  "address", "is_active", "version"]
        # Uniqueness is the service's to check (it names the field); a model validator here
        # would query outside the user's scope.
        validators: list = []
        extra_kwargs = {"code": {"validators": []}}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "company" in self.fields:
            self.fields["company"].queryset = Company.objects.visible_to(request.user).distinct()
        if self.instance is not None and "company" in self.fields:
            self.fields["company"].read_only = True
            self.fields["code"].read_only = True


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "project", "leader"]


class UserSerializer(serializers.ModelSerializer):
    phone = MaskedPhoneField(read_only=True)
    role = serializers.SlugRelatedField(slug_field="code", read_only=True)
    scope_level = serializers.CharField(source="scope_level_in_force", read_only=True)
    projects = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "phone", "email", "role", "team",
                  "scope_level", "projects", "is_active", "version"]
        read_only_fields = fields


class MeSerializer(UserSerializer):
    rights = serializers.SerializerMethodField()
    companies = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "companies", "rights"]
        read_only_fields = fields

    def get_rights(self, user: User) -> list[str]:
        return [right for right in User.RIGHTS if user.may(right)]


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


# --- viewsets -------------------------------------------------------------------------------
class UserViewSet(ScopedReadOnlyModelViewSet):
    model = User
    serializer_class = UserSerializer
    permission_classes = [*ScopedReadOnlyModelViewSet.permission_classes, HasPerm]
    perms = {"disable": "accounts.change_user", "enable": "accounts.change_user"}

    def scope_queryset(self, qs):
        return qs.select_related("role").prefetch_related("projects")

    @extend_schema(request=None, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        user = services.user_disable(actor=request.user, user=self.get_object())
        return Response(self.get_serializer(user).data)

    @extend_schema(request=None, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        user = services.user_enable(actor=request.user, user=self.get_object())
        return Response(self.get_serializer(user).data)


class ProjectViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin,
                     mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedGenericViewSet):
    model = Project
    serializer_class = ProjectSerializer
    permission_classes = [*ScopedGenericViewSet.permission_classes, HasPerm]
    perms = {"create": "accounts.add_project", "update": "accounts.change_project",
             "partial_update": "accounts.change_project"}

    def scope_queryset(self, qs):
        return qs.select_related("company")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.project_create(
            actor=self.request.user, company=data["company"], name=data["name"],
            code=data["code"], city=data.get("city", ""), district=data.get("district", ""),
            address=data.get("address", ""))

    def perform_update(self, serializer):
        version = self.expected_version(serializer)
        serializer.instance = services.project_update(
            actor=self.request.user, project=serializer.instance, version=version,
            **serializer.validated_data)


class CompanyViewSet(ScopedReadOnlyModelViewSet):
    model = Company
    serializer_class = CompanySerializer

    def scope_queryset(self, qs):
        return qs.distinct()


class TeamViewSet(ScopedReadOnlyModelViewSet):
    model = Team
    serializer_class = TeamSerializer


class MeViewSet(AnjuGenericViewSet):
    """The signed-in user: role, data scope, projects, companies and rights."""

    serializer_class = MeSerializer
    pagination_class = None

    def get_queryset(self):
        return User.objects.filter(pk=self.request.user.pk)

    @extend_schema(responses=MeSerializer)
    def list(self, request):
        user = (User.objects.select_related("role")
                .prefetch_related("projects", "companies").get(pk=request.user.pk))
        return Response(self.get_serializer(user).data)


class AuthTokenViewSet(AnjuGenericViewSet):
    """POST username and password, get a token for `Authorization: Token <key>`.

    Failures count towards the same lockout as the sign-in page (django-axes)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    serializer_class = TokenRequestSerializer
    pagination_class = None

    def get_queryset(self):
        return User.objects.none()

    @extend_schema(request=TokenRequestSerializer, responses=inline_serializer(
        "AuthToken", {"token": serializers.CharField()}))
    def create(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request=request, **serializer.validated_data)
        if getattr(request, "axes_locked_out", False):
            return Response({"code": "locked_out", "message": _(
                "Too many failed sign-in attempts: this account is locked for now.")},
                status=status.HTTP_429_TOO_MANY_REQUESTS)
        if user is None:
            return Response({"code": "invalid_credentials", "message": _(
                "Unable to sign in with this user name and password.")},
                status=status.HTTP_400_BAD_REQUEST)
        token = services.auth_token_issue(user=user)
        return Response({"token": token.key})


def register(router: DefaultRouter) -> None:
    """Adds users, projects, companies, teams, me and token sign-in to the site's router."""
    router.register("users", UserViewSet, basename="user")
    router.register("projects", ProjectViewSet, basename="project")
    router.register("companies", CompanyViewSet, basename="company")
    router.register("teams", TeamViewSet, basename="team")
    router.register("me", MeViewSet, basename="me")
    router.register("auth/token", AuthTokenViewSet, basename="auth-token")
