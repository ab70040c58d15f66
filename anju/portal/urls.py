from django.urls import path

from . import views, views_staff

app_name = "portal"

urlpatterns: list = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("tickets/new/", views.ticket_new, name="ticket_new"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket_detail"),
    path("tickets/<int:pk>/photos/<int:photo_id>/", views.ticket_photo, name="ticket_photo"),
    path("tickets/<int:pk>/<slug:action>/", views.ticket_action, name="ticket_action"),
    path("surveys/<str:token>/", views.survey_answer, name="survey_answer"),
    path("handover/<int:pk>/", views.handover_book, name="handover_book"),
    # customer service's page of owner accounts (a staff login, not an owner's)
    path("staff/accounts/", views_staff.owner_accounts, name="staff_accounts"),
    path("staff/accounts/<int:pk>/<slug:action>/", views_staff.owner_account_action,
         name="staff_account_action"),
]
