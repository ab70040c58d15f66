"""The handover inspection checklists through the API, as on `/service/handover/checklists/`:
a project's checklist in force (its own, else its company's default, else the built-in one)
and a company's default; service managers change them one edit at a time (rooms and items
are named, so an edit never hits the wrong line after someone else's) or reset them.

    GET  service/handover-checklists/<project>/          rooms, where they come from
    POST service/handover-checklists/<project>/change/   {action, room, item, name}
    POST service/handover-checklists/<project>/reset/
    …and the same under service/company-checklists/<company>/

A project or company outside the viewer's scope is a 404; an edit by someone who may not
make it a 403; a bad edit a 400 naming the field."""

from typing import Any

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from anju.accounts.models import Company, Project
from anju.core.api.base import AnjuGenericViewSet

from . import selectors, services
from .views import is_care_manager, is_care_staff, may_edit_company_checklist


class ChecklistRoomSerializer(serializers.Serializer):
    room = serializers.CharField()
    items = serializers.ListField(child=serializers.CharField())


class ChecklistSerializer(serializers.Serializer):
    company = serializers.IntegerField()
    project = serializers.IntegerField(allow_null=True)
    source = serializers.ChoiceField(
        choices=["project", "company", "default"],
        help_text="where the rooms come from: the project's own checklist, its company's "
                  "default, or the built-in one")
    may_edit = serializers.BooleanField()
    rooms = ChecklistRoomSerializer(many=True)


class ChecklistChangeSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(services.CHECKLIST_ACTIONS))
    room = serializers.CharField(required=False, allow_blank=True, default="")
    item = serializers.CharField(required=False, allow_blank=True, default="")
    name = serializers.CharField(required=False, allow_blank=True, default="")


class _ChecklistViewSet(AnjuGenericViewSet):
    serializer_class = ChecklistSerializer

    def _target(self, pk: Any) -> tuple[Company, Project | None]:
        raise NotImplementedError

    def _may_edit(self, company: Company, project: Project | None) -> bool:
        raise NotImplementedError

    def _rooms(self, company: Company, project: Project | None):
        raise NotImplementedError

    def _staff_target(self, pk: Any) -> tuple[Company, Project | None]:
        if not is_care_staff(self.request.user):
            raise PermissionDenied
        if not str(pk).isdigit():
            raise NotFound
        return self._target(int(pk))

    def _answer(self, company: Company, project: Project | None) -> Response:
        rooms, source = self._rooms(company, project)
        return Response(ChecklistSerializer({
            "company": company.pk, "project": project.pk if project else None,
            "source": source, "may_edit": self._may_edit(company, project),
            "rooms": rooms}).data)

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return self._answer(*self._staff_target(pk))

    @extend_schema(request=ChecklistChangeSerializer, responses={200: ChecklistSerializer})
    @action(detail=True, methods=["post"])
    def change(self, request: Request, pk: str | None = None) -> Response:
        company, project = self._staff_target(pk)
        if not self._may_edit(company, project):
            raise PermissionDenied
        params = ChecklistChangeSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.checklist_change(actor=request.user, company=company, project=project,
                                  **params.validated_data)
        return self._answer(company, project)

    @extend_schema(request=None, responses={200: ChecklistSerializer})
    @action(detail=True, methods=["post"])
    def reset(self, request: Request, pk: str | None = None) -> Response:
        company, project = self._staff_target(pk)
        if not self._may_edit(company, project):
            raise PermissionDenied
        services.checklist_reset(actor=request.user, company=company, project=project)
        return self._answer(company, project)


class ProjectChecklistViewSet(_ChecklistViewSet):
    """A project's handover inspection checklist: the one its next batch takes."""

    queryset = Project.objects.none()  # never read (scope in `_target`): names the id's type

    def _target(self, pk: int) -> tuple[Company, Project | None]:
        project = (Project.objects.visible_to(self.request.user).select_related("company")
                   .filter(pk=pk).first())
        if project is None:
            raise NotFound
        return project.company, project

    def _may_edit(self, company: Company, project: Project | None) -> bool:
        return is_care_manager(self.request.user)

    def _rooms(self, company: Company, project: Project | None):
        return selectors.checklist_in_force(project_id=project.pk)


class CompanyChecklistViewSet(_ChecklistViewSet):
    """A company's default handover checklist, for its projects without their own."""

    queryset = Company.objects.none()  # never read (scope in `_target`): names the id's type

    def _target(self, pk: int) -> tuple[Company, Project | None]:
        company = Company.objects.visible_to(self.request.user).filter(pk=pk).first()
        if company is None:
            raise NotFound
        return company, None

    def _may_edit(self, company: Company, project: Project | None) -> bool:
        return may_edit_company_checklist(self.request.user, company)

    def _rooms(self, company: Company, project: Project | None):
        return selectors.company_checklist(company_id=company.pk)
