from django.urls import path

from . import views

urlpatterns: list = [
    path("tickets/", views.ticket_queue, name="ticket_queue"),
    path("tickets/new/", views.ticket_new, name="ticket_new"),
    path("tickets/new/pickers/", views.reception_pickers, name="ticket_pickers"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket_detail"),
    path("tickets/<int:pk>/<slug:action>/", views.ticket_act, name="ticket_act"),
    path("tickets/photos/<int:pk>/", views.ticket_photo, name="ticket_photo"),
    path("my-tasks/", views.my_tasks, name="my_tasks"),
    path("library/", views.library_page, name="library"),
    path("library/import/", views.library_import_page, name="library_import"),
    path("quality/", views.quality_page, name="quality"),
    path("quality/chart/", views.quality_chart, name="quality_chart"),
    path("quality/export.<str:fmt>", views.quality_export, name="quality_export"),
]
