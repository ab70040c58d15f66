from django.urls import path

from . import views

urlpatterns: list = [
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket_detail"),
]
