from django.urls import path

from . import views

app_name = "property"

urlpatterns = [
    path("", views.building_list, name="building_list"),
    path("buildings/new/", views.building_create, name="building_create"),
    path("buildings/<int:pk>/", views.board, name="board"),
    path("buildings/<int:pk>/changes/", views.board_changes, name="board_changes"),
    path("units/<int:pk>/", views.unit_panel, name="unit_panel"),
    path("units/<int:pk>/lock/", views.unit_lock, name="unit_lock"),
    path("units/<int:pk>/release/", views.unit_release, name="unit_release"),
    path("unit-types/", views.unit_type_list, name="unit_type_list"),
    path("unit-types/new/", views.unit_type_edit, name="unit_type_create"),
    path("unit-types/<int:pk>/", views.unit_type_edit, name="unit_type_edit"),
    path("unit-types/<int:pk>/floor-plan/", views.unit_type_floor_plan,
         name="unit_type_floor_plan"),
    path("imports/", views.price_import_upload, name="price_import"),
    path("imports/<int:pk>/", views.price_import_detail, name="price_import_detail"),
    path("imports/<int:pk>/apply/", views.price_import_apply, name="price_import_apply"),
    path("imports/<int:pk>/cancel/", views.price_import_cancel, name="price_import_cancel"),
    path("imports/<int:pk>/errors/", views.price_import_errors, name="price_import_errors"),
]
