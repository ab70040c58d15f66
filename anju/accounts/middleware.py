"""Idle and absolute session timeouts.

The idle clock slides with activity (written at most once a minute, so a busy page does not
write the session on every request); the absolute clock starts at login and never moves.
An expired session is logged out and sent to the login page, which explains why. Requests
authenticated by an API token carry no session and are not touched here."""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponseRedirect
from django.shortcuts import resolve_url

from .signals import SESSION_LAST_SEEN_KEY, SESSION_STARTED_KEY

LAST_SEEN_WRITE_INTERVAL_SECONDS = 60


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            expired = self._expired(request.session)
            if expired and request.path.startswith("/api/"):
                logout(request)  # the API answers the now anonymous request with 401/403
            elif expired:
                return self._log_out(request, expired)
        return self.get_response(request)

    @staticmethod
    def _expired(session) -> str | None:
        now = time.time()
        started = session.get(SESSION_STARTED_KEY)
        last_seen = session.get(SESSION_LAST_SEEN_KEY)
        if started is None or last_seen is None:
            # A session from before this middleware (or a login outside Django's login()).
            session[SESSION_STARTED_KEY] = started or now
            session[SESSION_LAST_SEEN_KEY] = now
            return None
        if now - started > settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS:
            return "expired"
        if now - last_seen > settings.SESSION_IDLE_TIMEOUT_SECONDS:
            return "idle"
        if now - last_seen > LAST_SEEN_WRITE_INTERVAL_SECONDS:
            session[SESSION_LAST_SEEN_KEY] = now
        return None

    @staticmethod
    def _log_out(request, reason: str):
        logout(request)
        query = {"reason": reason}
        if request.method == "GET":
            query["next"] = request.get_full_path()
        url = f"{resolve_url(settings.LOGIN_URL)}?{urlencode(query)}"
        if request.headers.get("HX-Request"):
            response = HttpResponseRedirect(url)
            response.status_code = 200
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url)
