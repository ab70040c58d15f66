from django.urls import path

from . import views

urlpatterns: list = [
    path("knowledge/", views.knowledge_list, name="knowledge_list"),
    path("knowledge/new/", views.knowledge_edit, name="knowledge_create"),
    path("knowledge/suggest/", views.knowledge_suggest, name="knowledge_suggest"),
    path("knowledge/<int:pk>/", views.knowledge_detail, name="knowledge_detail"),
    path("knowledge/<int:pk>/edit/", views.knowledge_edit, name="knowledge_edit"),
    path("surveys/", views.survey_scores, name="survey_scores"),
    path("surveys/templates/", views.survey_templates, name="survey_templates"),
    path("handover/", views.handover_list, name="handover_list"),
    path("handover/new/", views.handover_create, name="handover_create"),
    path("handover/<int:pk>/", views.handover_detail, name="handover_detail"),
    path("handover/checklists/", views.checklist_list, name="checklist_list"),
    path("handover/checklists/projects/<int:project_id>/", views.checklist_edit,
         name="checklist_project"),
    path("handover/checklists/companies/<int:company_id>/", views.checklist_edit,
         name="checklist_company"),
    path("handover/units/<int:pk>/", views.handover_unit, name="handover_unit"),
    path("handover/units/<int:pk>/<slug:action>/", views.handover_unit_action,
         name="handover_unit_action"),
]
