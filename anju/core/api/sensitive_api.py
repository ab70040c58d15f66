"""Sensitive values in the API: masked serializer fields and the reveal endpoint.

`MaskedPhoneField` / `MaskedIdNumberField` read input like any field (normalising it, with a
field error in the user's language) and always *write out* a masked value, unless the request
user may unmask AND the request asked for it by field name: `?unmask=phone` (several:
`?unmask=phone,id_number` or repeated). Each value so revealed is logged.

`POST /api/v1/sensitive/<target>/<pk>/<field>/` reveals one registered field of one record,
the twin of the page endpoint `core:sensitive-reveal`."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from anju.core import masking
from anju.core.normalise import normalise_id_number, normalise_phone


def unmask_requested(request, field_name: str) -> bool:
    """Whether the request asked to see `field_name` unmasked (`?unmask=a,b` or repeated)."""
    if request is None:
        return False
    params = getattr(request, "query_params", None) or getattr(request, "GET", {})
    wanted: set[str] = set()
    for value in params.getlist("unmask") if hasattr(params, "getlist") else []:
        wanted.update(part.strip() for part in value.split(",") if part.strip())
    return field_name in wanted


class _Attribute:
    """The serialised value together with the row it came from (for the access log)."""

    __slots__ = ("instance", "value")

    def __init__(self, instance, value):
        self.instance, self.value = instance, value


class MaskedSensitiveField(serializers.CharField):
    kind = ""

    def get_attribute(self, instance):
        value = super().get_attribute(instance)
        return None if value is None else _Attribute(instance, value)

    def to_representation(self, value):
        if isinstance(value, _Attribute):
            instance, plain = value.instance, value.value
        else:
            instance, plain = None, value
        plain = "" if plain is None else str(plain)
        if not plain:
            return plain
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if (unmask_requested(request, self.field_name) and masking.may_reveal(user)
                and instance is not None):
            masking.sensitive_access_record(
                user=user, action="unmask", target=instance._meta.label_lower,
                object_id=instance.pk, field=self.source if self.source != "*" else "",
                remote_addr=masking.client_address(request),
            )
            return plain
        return masking.mask_value(plain, self.kind)

    def normalise(self, value: str) -> str:
        raise NotImplementedError

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value == "":
            return value
        try:
            return self.normalise(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc


class MaskedPhoneField(MaskedSensitiveField):
    """A phone: input normalised to E.164, output `138****8000` unless revealed."""

    kind = masking.PHONE

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def normalise(self, value: str) -> str:
        return normalise_phone(value)


class MaskedIdNumberField(MaskedSensitiveField):
    """An ID card number: input validated, output `1****************4` unless revealed."""

    kind = masking.ID_NUMBER

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def normalise(self, value: str) -> str:
        return normalise_id_number(value)


class RevealedValueSerializer(serializers.Serializer):
    target = serializers.CharField()
    id = serializers.CharField()
    field = serializers.CharField()
    value = serializers.CharField()


class SensitiveViewSet(viewsets.ViewSet):
    """Reveal one registered sensitive field of one record in the caller's scope (logged)."""

    lookup_field = "target"
    lookup_value_regex = r"[a-z0-9_]+\.[a-z0-9_]+"

    @extend_schema(
        operation_id="sensitive_reveal",
        request=None,
        parameters=[
            OpenApiParameter("target", str, OpenApiParameter.PATH,
                             description="Model label, e.g. accounts.user"),
            OpenApiParameter("object_id", str, OpenApiParameter.PATH,
                             description="Primary key of the record"),
            OpenApiParameter("field", str, OpenApiParameter.PATH,
                             description="A field registered with register_sensitive_field"),
        ],
        responses={
            200: RevealedValueSerializer,
            403: OpenApiResponse(description="The user may not unmask."),
            404: OpenApiResponse(description="Unknown field, or record outside the scope."),
        },
    )
    @action(detail=True, methods=["post"], url_path=r"(?P<object_id>[^/.]+)/(?P<field>[a-z0-9_]+)",
            url_name="reveal")
    def reveal(self, request: Request, target: str, object_id: str, field: str) -> Response:
        spec, value = masking.sensitive_reveal(
            user=request.user, target=target, object_id=object_id, field=field,
            remote_addr=masking.client_address(request),
        )
        data = {"target": spec.target, "id": object_id, "field": field, "value": value}
        return Response(RevealedValueSerializer(data).data)


def register(router: DefaultRouter) -> None:
    router.register("sensitive", SensitiveViewSet, basename="sensitive")
