from django.urls import path

from . import views

app_name = "leads"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/<slug:name>/", views.action, name="action"),
    path("new/", views.capture, name="capture"),
    path("imports/", views.import_list, name="import"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("imports/<int:pk>/errors.xlsx", views.import_errors, name="import_errors"),
    path("channels/", views.channels, name="channels"),
    path("registrations/", views.registrations, name="registrations"),
    path("registrations/<int:pk>/trail/", views.registration_trail, name="registration_trail"),
    path("registrations/<int:pk>/<slug:name>/", views.registration_action,
         name="registration_action"),
    path("agencies/", views.agencies, name="agencies"),
    path("roster/", views.roster, name="roster"),
    path("roster/qr/<slug:code>.svg", views.checkin_qr, name="checkin_qr"),
    path("roster/poster/<slug:code>/", views.checkin_poster, name="checkin_poster"),
    path("rules/", views.rules, name="rules"),
    path("reports/", views.report_page, name="reports"),
    path("reports/data/", views.report_data, name="report_data"),
    path("checkin/<slug:code>/", views.checkin, name="checkin"),
    path("checkin/<slug:code>/thanks/", views.checkin_done, name="checkin_done"),
]
