"""Which opportunity and quote fields the audit trail keeps (called from the sales app's
`ready`). The stage history has its own table; the audit adds who changed the value, the
close date, the consultant, a quote's decision and the admins' settings."""


def opportunities_audit_register() -> None:
    from anju.core.audit import audit_register
    from anju.sales.models.opportunities import (
        DiscountPolicy,
        Opportunity,
        Quote,
        StageProbability,
    )

    audit_register(Opportunity, include_fields=[
        "customer", "project", "owner", "stage", "expected_value", "expected_close_date",
        "lost_reason", "lost_note"])
    audit_register(Quote, include_fields=["status", "final_price", "discount_amount",
                                          "decided_by", "decision_comment"])
    audit_register(DiscountPolicy, include_fields=["role", "payment_method",
                                                   "max_discount_percent"])
    audit_register(StageProbability, include_fields=["company", "stage", "probability"])
