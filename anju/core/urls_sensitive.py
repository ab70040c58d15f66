from django.urls import path

from . import views_sensitive

urlpatterns = [
    path("<str:target>/<str:pk>/<str:field>/", views_sensitive.sensitive_reveal,
         name="sensitive-reveal"),
]
