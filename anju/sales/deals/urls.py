"""The deal pages, included in the `sales:` namespace under /sales/."""

from django.urls import path

from . import views

urlpatterns: list = [
    path("deals/", views.deal_list, name="deal_list"),
    path("deals/<int:pk>/", views.deal_detail, name="deal_detail"),
    path("deals/<int:pk>/reserve/", views.deal_reserve, name="deal_reserve"),
    path("deals/<int:pk>/contract/", views.deal_contract, name="deal_contract"),
    path("deals/<int:pk>/contract.pdf", views.contract_pdf, name="deal_contract_pdf"),
    path("deals/<int:pk>/deliver/", views.deal_deliver, name="deal_deliver"),
    path("deals/<int:pk>/release/", views.hold_release, name="deal_hold_release"),
    path("deals/<int:pk>/collection/", views.collection_log, name="deal_collection"),
    path("deals/<int:pk>/change/", views.change_request_create, name="change_request_create"),
    path("deals/<int:pk>/instalments/<int:instalment_pk>/pay/", views.payment_create,
         name="payment_create"),
    path("deals/<int:pk>/instalments/<int:instalment_pk>/loan/", views.loan_status,
         name="loan_status"),
    path("payments/<int:pk>/receipt/", views.receipt, name="receipt"),
    path("units/<int:pk>/hold/", views.unit_hold, name="unit_hold"),
    path("units/<int:pk>/reserve/", views.unit_reserve, name="unit_reserve"),
    path("deal-customers/", views.customer_lookup, name="deal_customer_lookup"),
    path("changes/", views.change_request_list, name="change_request_list"),
    path("changes/<int:pk>/", views.change_request_detail, name="change_request_detail"),
]
