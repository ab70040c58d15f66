"""Merge of two customer records that both appear on deals.

`Deal.customer` moves with the ledger's generic move (every row pointing at the merged
customer). `DealBuyer` needs this handler: when both records are buyers of the same deal,
the generic move would drop the merged one's row and its share with it; here the share is
added to the survivor's row, so the deal's shares still add up to 100 %. The ledger's
`MergeRecord` keeps what moved."""

from typing import Any

from django.db.models import F

from anju.sales.models.deals import DealBuyer


def deal_buyers_merge(*, survivor: Any, merged: Any, actor: Any, field_choices: Any = None
                      ) -> int:
    moved = 0
    theirs = list(DealBuyer.objects.filter(customer_id=merged.pk))
    if not theirs:
        return 0
    mine = dict(DealBuyer.objects.filter(customer_id=survivor.pk,
                                         deal_id__in=[row.deal_id for row in theirs])
                .values_list("deal_id", "pk"))
    for row in theirs:
        if row.deal_id in mine:
            changes: dict = {"share": F("share") + row.share}
            if row.is_primary:
                changes["is_primary"] = True
            DealBuyer.objects.filter(pk=mine[row.deal_id]).update(**changes)
            row.delete()
        else:
            DealBuyer.objects.filter(pk=row.pk).update(customer_id=survivor.pk)
        moved += 1
    return moved
