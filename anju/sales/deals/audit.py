"""Which deal fields the audit trail keeps (called from the sales app's `ready`)."""


def deals_audit_register() -> None:
    from anju.core.audit import audit_register
    from anju.sales.models.deals import ContractNumberRule, Deal, DealChangeRequest, Payment

    audit_register(Deal, include_fields=[
        "status", "unit", "customer", "consultant", "list_price", "discount_amount",
        "final_price", "deposit", "payment_method", "contract_number", "refunded_amount",
        "close_reason", "hold_expires_at", "reservation_expires_at"])
    audit_register(Payment, include_fields=["deal", "instalment", "amount", "paid_at", "method",
                                            "receipt_number"])
    audit_register(DealChangeRequest, include_fields=["deal", "kind", "reason", "refund_amount",
                                                      "target_unit", "state", "decided_by",
                                                      "comment"])
    audit_register(ContractNumberRule, include_fields=["prefix", "receipt_prefix", "digits"])
