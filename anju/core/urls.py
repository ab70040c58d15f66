"""Kernel pages, one module per concern so they can grow apart."""

from django.urls import include, path

app_name = "core"
urlpatterns = [
    path("sensitive/", include("anju.core.urls_sensitive")),
    path("inbox/", include("anju.core.urls_inbox")),
    path("audit/", include("anju.core.urls_audit")),
    path("exports/", include("anju.core.urls_exports")),
]
