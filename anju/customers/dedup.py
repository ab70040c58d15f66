"""Who is already in the ledger: the door check every capture path (form, API, import, and
later leads) asks before creating a person. Global, not scoped: one person is one record in
the whole ledger, even when another consultant owns it."""

from collections.abc import Iterable

from .models import Customer, CustomerPhone


def existing_customer_for(
    *, phones: Iterable[str] = (), id_number_hash: str = ""
) -> Customer | None:
    """The live customer holding any of these E.164 phones or this ID hash, else None.

    Merged-away records point at their survivor, so the survivor is returned."""
    phones = [phone for phone in phones if phone]
    if id_number_hash:
        found = Customer.objects.filter(id_number_hash=id_number_hash).first()
        if found:
            return _survivor(found)
    if phones:
        link = (CustomerPhone.objects.filter(e164__in=phones).select_related("customer")
                .order_by("id").first())
        if link:
            return _survivor(link.customer)
    return None


def customer_ids_by_phone(e164s: Iterable[str]) -> dict[str, int]:
    """E.164 -> customer id for those already in the ledger (one query; for imports)."""
    wanted = list({phone for phone in e164s if phone})
    if not wanted:
        return {}
    return dict(CustomerPhone.objects.filter(e164__in=wanted).values_list("e164", "customer_id"))


def customers_by_phone(e164s: Iterable[str]) -> dict[str, Customer]:
    """E.164 -> the live customer holding it, with its consultant (`owner`) loaded: one query
    for all the phones, and one more per merged-away record found (its survivor)."""
    wanted = list({phone for phone in e164s if phone})
    found: dict[str, Customer] = {}
    for link in (CustomerPhone.objects.filter(e164__in=wanted)
                 .select_related("customer__owner").order_by("id")):
        found.setdefault(link.e164, link.customer)
    return {phone: _survivor(customer) for phone, customer in found.items()}


def customer_ids_by_id_hash(hashes: Iterable[str]) -> dict[str, int]:
    """ID-number hash -> customer id for those already in the ledger (one query)."""
    wanted = list({value for value in hashes if value})
    if not wanted:
        return {}
    return dict(Customer.objects.filter(id_number_hash__in=wanted)
                .values_list("id_number_hash", "id"))


def _survivor(customer: Customer) -> Customer:
    seen = set()
    while customer.merged_into_id and customer.pk not in seen:
        seen.add(customer.pk)
        customer = Customer.objects.select_related("owner").get(pk=customer.merged_into_id)
    return customer
