from django.urls import path

from . import views_exports

urlpatterns = [
    path("", views_exports.export_requests, name="export-requests"),
    path("<int:pk>/decide/", views_exports.export_request_decision,
         name="export-request-decide"),
]
