from django.urls import path

from anju.core import views_audit

urlpatterns = [
    path("", views_audit.audit_search_view, name="audit-search"),
    path("<str:model_label>/<str:pk>/", views_audit.audit_record_view, name="audit-record"),
]
