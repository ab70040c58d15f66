"""One JSON shape for every API error, whatever raised it.

    {"code": "invalid", "message": "<translated summary>", "fields": {"name": ["..."]}}

`code` is stable and machine-readable, `message` is in the user's language, `fields` appears
only for validation errors (keys are the request's field names, `non_field_errors` for the
rest). Besides DRF's own exceptions this maps what services raise: Django's
`ValidationError` (400 with fields), `PermissionDenied` (403), `ObjectDoesNotExist` (404),
`anju.core.locking.VersionConflict` (409 with "yours" and "current"). Anything else is a 500
whose body names no internals; the traceback goes to the log."""

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found
from django.views.defaults import server_error as page_server_error
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import set_rollback

from anju.core.locking import VersionConflict

logger = logging.getLogger("anju.api")


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "unprocessable"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _summary_for_fields(fields: dict) -> str:
    names = [name for name in fields if name != "non_field_errors"]
    if not names:
        return _("The request is not valid.")
    return _("Please correct these fields: %(fields)s.") % {"fields": ", ".join(names)}


def _field_errors(detail: Any) -> dict:
    """DRF's error detail as {field: [messages]} (a list body becomes non_field_errors)."""
    if isinstance(detail, dict):
        return detail
    if isinstance(detail, list):
        return {"non_field_errors": detail}
    return {"non_field_errors": [detail]}


def _jsonable(value: Any) -> Any:
    """A value as the API would show it (model instances by primary key)."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return DjangoJSONEncoder().default(value)


def _conflict_body(exc: VersionConflict, context: dict) -> dict:
    view = context.get("view")
    current: Any
    if view is not None and hasattr(view, "get_serializer"):
        current = view.get_serializer(exc.current).data
    else:
        current = {"version": getattr(exc.current, "version", None)}
    yours = {name: _jsonable(value) for name, value in exc.attempted.items()}
    if exc.expected_version is not None:
        yours.setdefault("version", exc.expected_version)
    return {
        "code": "conflict",
        "message": _("Someone else saved this record after you opened it. "
                     "Nothing was overwritten: compare the two versions and try again."),
        "yours": yours,
        "current": current,
    }


def exception_handler(exc: Exception, context: dict) -> Response:
    """The REST_FRAMEWORK["EXCEPTION_HANDLER"] of the site."""
    if isinstance(exc, VersionConflict):
        set_rollback()
        return Response(_conflict_body(exc, context), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*( [str(exc)] if str(exc) else []))
    elif isinstance(exc, Http404 | ObjectDoesNotExist):
        exc = exceptions.NotFound()

    if not isinstance(exc, exceptions.APIException):
        logger.exception("Unhandled error in API view %s", context.get("view"), exc_info=exc)
        set_rollback()
        return Response(
            {"code": "server_error",
             "message": _("Something went wrong on our side. Please try again later.")},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    headers: dict[str, str] = {}
    body: dict[str, Any]
    status_code = exc.status_code
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_errors(exc.detail)
        body = {"code": "invalid", "message": _summary_for_fields(fields), "fields": fields}
    else:
        detail = exc.detail
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        message = detail if isinstance(detail, str) else str(exc.default_detail)
        body = {"code": code, "message": str(message)}
        if isinstance(detail, dict):
            body.update({key: value for key, value in detail.items() if key not in body})
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # DRF answers 403 when the first authenticator (session) has no challenge; a client
        # without credentials deserves a 401 that says how to authenticate.
        status_code = status.HTTP_401_UNAUTHORIZED
        headers["WWW-Authenticate"] = 'Token realm="api"'
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        body["retry_after"] = int(exc.wait)
        headers["Retry-After"] = str(int(exc.wait))
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    set_rollback()
    return Response(body, status=status_code, headers=headers)


API_PREFIX = "/api/"


def not_found(request, exception=None):
    """handler404: the API answers in its JSON error shape, pages get the friendly page."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"code": "not_found", "message": str(_("Not found."))}, status=404)
    return page_not_found(request, exception)


def server_error(request):
    """handler500: JSON without internals for the API, the standalone 500 page otherwise."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(
            {"code": "server_error", "message": str(_("Something went wrong on our side."))},
            status=500,
        )
    return page_server_error(request)
