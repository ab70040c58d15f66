from django.urls import path

from . import views_inbox

urlpatterns = [
    path("", views_inbox.inbox, name="inbox"),
    path("read/", views_inbox.mark_read, name="inbox_mark_read"),
    path("read-all/", views_inbox.mark_all_read, name="inbox_mark_all_read"),
    path("chart.json", views_inbox.chart, name="inbox_chart"),
]
