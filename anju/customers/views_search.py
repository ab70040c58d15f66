"""The search page (`customers:search`): the whole page, its htmx results partial as the user
types, and `?format=json` (masked) for scripts and the benches. Thin: `customer_search` does
the work."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from anju.core.masking import mask_phone

from .search import MAX_QUERY_LENGTH, SearchHit, customer_search

PAGE_LIMIT = 50
TYPEAHEAD_LIMIT = 8


def customer_url(customer_id: int) -> str:
    """The customer's 360° page, once the ledger has it ("" until then)."""
    try:
        return reverse("customers:detail", args=[customer_id])
    except NoReverseMatch:
        return ""


def _as_json(hit: SearchHit) -> dict:
    customer = hit.customer
    return {
        "id": customer.pk,
        "name": customer.name,
        "phone": mask_phone(customer.primary_phone),
        "stage": customer.stage,
        "tier": customer.tier_in_force,
        "matched_on": hit.matched_on,
        "rank": hit.rank,
        "url": customer_url(customer.pk),
    }


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    typeahead = request.GET.get("typeahead") == "1"
    limit = TYPEAHEAD_LIMIT if typeahead else PAGE_LIMIT
    hits = customer_search(viewer=request.user, query=query, limit=limit) if query else []
    if request.GET.get("format") == "json":
        return JsonResponse({"query": query, "results": [_as_json(hit) for hit in hits]})
    rows = [{"hit": hit, "customer": hit.customer, "url": customer_url(hit.customer.pk)}
            for hit in hits]
    context = {"query": query, "rows": rows, "typeahead": typeahead}
    if request.headers.get("HX-Request") == "true":
        template = ("customers/search_typeahead.html" if typeahead
                    else "customers/search_results.html")
        return render(request, template, context)
    return render(request, "customers/search.html", context)
