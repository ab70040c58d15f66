from django.urls import path

app_name = "customers"
from . import views  # noqa: E402

# The ledger's own pages (ledger engineer); other areas append their routes below.
urlpatterns: list = [
    path("", views.customer_list, name="list"),
    path("count/", views.customer_count, name="count"),
    path("new/", views.customer_create, name="create"),
    path("today/", views.today, name="today"),
    path("export/", views.customer_export, name="export"),
    path("export/<int:pk>/download/", views.customer_export_download, name="export-download"),
    path("filters/", views.saved_filter_save, name="filter-save"),
    path("filters/<int:pk>/delete/", views.saved_filter_delete, name="filter-delete"),
    path("follow-ups/<int:pk>/done/", views.follow_up_done, name="follow-up-done"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/interactions/", views.interaction_create, name="interaction-create"),
    path("<int:pk>/timeline/", views.customer_timeline, name="timeline"),
    path("<int:pk>/sections/<slug:key>/", views.customer_section, name="section"),
    path("<int:pk>/phones/", views.phone_add, name="phone-add"),
    path("<int:pk>/phones/<int:phone_id>/", views.phone_change, name="phone-change"),
    path("<int:pk>/tags/", views.tags_set, name="tags"),
    path("<int:pk>/need/", views.need_set, name="need"),
    path("<int:pk>/household/", views.household_add, name="household-add"),
    path("<int:pk>/household/<int:member_id>/delete/", views.household_remove,
         name="household-remove"),
    path("<int:pk>/consent/", views.consent_set, name="consent"),
    path("<int:pk>/tier/", views.tier_override, name="tier"),
]

from . import views_search  # noqa: E402  (search engineer)

urlpatterns.append(path("search/", views_search.search, name="search"))

from . import views_import  # noqa: E402  (importer)

urlpatterns += [
    path("imports/", views_import.import_list, name="import_list"),
    path("imports/<int:pk>/", views_import.import_detail, name="import_detail"),
    path("imports/<int:pk>/progress/", views_import.import_progress, name="import_progress"),
    path("imports/<int:pk>/resume/", views_import.import_resume, name="import_resume"),
    path("imports/<int:pk>/rejected.xlsx", views_import.import_errors, name="import_errors"),
]

from . import views_merge  # noqa: E402  (merge engineer)

urlpatterns += [
    path("duplicates/", views_merge.duplicate_list, name="duplicates"),
    path("duplicates/dismiss/", views_merge.duplicate_dismiss_view, name="duplicate_dismiss"),
    path("duplicates/scan/", views_merge.duplicate_scan_view, name="duplicates_scan"),
    path("merge/", views_merge.merge_compare, name="merge"),
    path("merges/<int:pk>/", views_merge.merge_record, name="merge_record"),
]
