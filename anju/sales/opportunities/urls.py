"""Opportunity pages, included in the `sales:` namespace under /sales/."""

from django.urls import path

from . import views

urlpatterns: list = [
    path("opportunities/", views.opportunity_list, name="opportunity_list"),
    path("opportunities/new/", views.opportunity_create, name="opportunity_create"),
    path("opportunities/board/", views.opportunity_kanban, name="opportunity_kanban"),
    path("opportunities/funnel/", views.opportunity_funnel, name="opportunity_funnel"),
    path("opportunities/funnel/chart/", views.opportunity_funnel_chart,
         name="opportunity_funnel_chart"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:pk>/move/", views.opportunity_move, name="opportunity_move"),
    path("opportunities/<int:pk>/edit/", views.opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:pk>/quotes/", views.quote_create, name="quote_create"),
    path("settings/", views.sales_settings, name="settings"),
    path("quotes/", views.quote_list, name="quote_list"),
    path("quotes/<int:pk>/", views.quote_detail, name="quote_detail"),
    path("quotes/<int:pk>/decision/", views.quote_decide, name="quote_decide"),
    path("quotes/<int:pk>/pdf/", views.quote_pdf, name="quote_pdf"),
]
