"""The owner's session: its own cookie, apart from the staff login.

Staff sign in through `accounts` with Django's session cookie; owners through the portal with
the `anju_owner` cookie, whose session holds only the owner account's id. A staff session
therefore never opens a portal page, and an owner session never opens a staff page (the staff
middleware and the main API do not read this cookie). The session data lives in the site's
session store (same engine, same expiry clean-up), under its own key."""

import time
from collections.abc import Callable
from functools import wraps
from importlib import import_module
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from .models import OwnerAccount

COOKIE_NAME = "anju_owner"
SESSION_KEY = "portal_owner_id"
STARTED_KEY = "portal_started"
IDLE_SECONDS = 7 * 24 * 3600
ABSOLUTE_SECONDS = 30 * 24 * 3600


def _store(session_key: str | None = None):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def owner_from_request(request: HttpRequest) -> OwnerAccount | None:
    """The signed-in owner (cached on the request), or None."""
    if hasattr(request, "_portal_owner"):
        return request._portal_owner
    owner = None
    key = request.COOKIES.get(COOKIE_NAME)
    if key:
        store = _store(key)
        owner_id = store.get(SESSION_KEY)
        started = store.get(STARTED_KEY, 0)
        if owner_id and time.time() - started < ABSOLUTE_SECONDS:
            owner = (OwnerAccount.objects.select_related("customer", "user")
                     .filter(pk=owner_id, is_active=True).first())
    request._portal_owner = owner
    return owner


def owner_sign_in(request: HttpRequest, response: HttpResponse, owner: OwnerAccount) -> None:
    """Starts a fresh owner session (a new key: no fixation) and sets the cookie."""
    old = request.COOKIES.get(COOKIE_NAME)
    if old:
        _store(old).delete(old)
    store = _store()
    store[SESSION_KEY] = owner.pk
    store[STARTED_KEY] = time.time()
    store.set_expiry(IDLE_SECONDS)
    store.create()
    store.save()
    response.set_cookie(COOKIE_NAME, store.session_key, max_age=IDLE_SECONDS, httponly=True,
                        samesite="Lax", secure=settings.SESSION_COOKIE_SECURE, path="/")
    request._portal_owner = owner


def owner_sign_out(request: HttpRequest, response: HttpResponse) -> None:
    key = request.COOKIES.get(COOKIE_NAME)
    if key:
        _store(key).delete(key)
    response.delete_cookie(COOKIE_NAME, path="/", samesite="Lax")
    request._portal_owner = None


def login_url(request: HttpRequest) -> str:
    query = {"next": request.get_full_path()} if request.method == "GET" else {}
    url = reverse("portal:login")
    return f"{url}?{urlencode(query)}" if query else url


def safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/owner/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def owner_required(view: Callable) -> Callable:
    """Pages of the portal: anonymous visitors (and staff) go to the portal's login."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        owner = owner_from_request(request)
        if owner is None:
            url = login_url(request)
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=200)
                response["HX-Redirect"] = url
                return response
            return HttpResponseRedirect(url)
        request.owner = owner
        return view(request, *args, **kwargs)

    return wrapper
