"""Idempotency keys for API writes (`Idempotency-Key` header), as a DRF view mixin.

Every Anju API view inherits it through `anju.core.api.base` (`AnjuAPIView`,
`AnjuGenericViewSet`, `ScopedModelViewSet`, ...); it is not a middleware because the key is
per user and token authentication happens inside the view. On POST/PUT/PATCH/DELETE with the
header:

1. after authentication, a row `core.IdempotencyRecord(user, key, fingerprint, in_progress)`
   is INSERTed first, under the unique (user, key) constraint, so two racing requests cannot
   both run the write (the loser sees the constraint, on PostgreSQL and SQLite alike);
2. the view runs; its response (status, body, content type) is stored on the row, unless it
   is a 5xx: then the row is deleted and the client may retry with the same key;
3. the same key again: the same request gets the stored response with
   `Idempotent-Replayed: true`; a different request (method, path or body) gets 422; a
   request while the first still runs gets 409.

Rows older than a day are pruned by `idempotency_prune(older_than=...)` (a periodic task)."""

import hashlib
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from anju.core.api.errors import Conflict, Unprocessable
from anju.core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = IdempotencyRecord._meta.get_field("key").max_length


class IdempotencyKeyReused(Unprocessable):
    default_code = "idempotency_key_reused"
    default_detail = _("This Idempotency-Key was already used for a different request. "
                       "Use a new key for a new request.")


class IdempotencyInProgress(Conflict):
    default_code = "idempotency_in_progress"
    default_detail = _("A request with this Idempotency-Key is still being processed. "
                       "Wait for it to finish, then retry.")


class InvalidIdempotencyKey(exceptions.ValidationError):
    pass


class _Replay(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def request_fingerprint(request: Request) -> str:
    """SHA-256 of method, full path (with query) and raw body."""
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\n")
    digest.update(request.get_full_path().encode())
    digest.update(b"\n")
    digest.update(request._request.body)
    return digest.hexdigest()


class IdempotencyMixin:
    """Gives an APIView idempotent writes; see the module's documentation."""

    _idempotency_record: IdempotencyRecord | None = None

    def initial(self, request: Request, *args, **kwargs) -> None:
        self._idempotency_record = None
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttles
        key = request.headers.get(HEADER)
        if request.method not in WRITE_METHODS or key is None:
            return
        user = request.user
        if not getattr(user, "is_authenticated", False):
            return
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            raise InvalidIdempotencyKey({HEADER: [
                _("Send a key of 1 to %(max)d characters.") % {"max": MAX_KEY_LENGTH}]})
        fingerprint = request_fingerprint(request)
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=user, key=key, method=request.method,
                    path=request.path[:512], request_fingerprint=fingerprint,
                )
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
            if existing is None:  # the first request failed and let go of the key: try again
                raise IdempotencyInProgress() from None
            if existing.request_fingerprint != fingerprint:
                raise IdempotencyKeyReused() from None
            if existing.state != IdempotencyRecord.State.DONE:
                raise IdempotencyInProgress() from None
            response = HttpResponse(bytes(existing.response_body or b""),
                                    status=existing.response_status,
                                    content_type=existing.response_content_type or None)
            response[REPLAY_HEADER] = "true"
            raise _Replay(response) from None
        self._idempotency_record = record

    def handle_exception(self, exc: Exception):
        if isinstance(exc, _Replay):
            return exc.response
        try:
            return super().handle_exception(exc)
        except Exception:
            self._idempotency_release()
            raise

    def finalize_response(self, request: Request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record = self._idempotency_record
        if record is None:
            return response
        self._idempotency_record = None
        if response.status_code >= 500:
            record.delete()
            return response
        if isinstance(response, Response) and not response.is_rendered:
            response.render()
        body = b"" if getattr(response, "streaming", False) else response.content
        record.state = IdempotencyRecord.State.DONE
        record.response_status = response.status_code
        record.response_body = body
        record.response_content_type = response.get("Content-Type", "")[:100]
        record.save(update_fields=["state", "response_status", "response_body",
                                   "response_content_type"])
        return response

    def _idempotency_release(self) -> None:
        record, self._idempotency_record = self._idempotency_record, None
        if record is not None:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()


def idempotency_prune(*, older_than: timedelta = timedelta(hours=24)) -> int:
    """Delete idempotency records older than `older_than`; returns how many went."""
    deleted, _details = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - older_than).delete()
    return deleted
