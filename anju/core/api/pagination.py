from rest_framework.pagination import CursorPagination


class AnjuCursorPagination(CursorPagination):
    """Keyset pages: page 500 costs what page 1 costs, and no COUNT(*) runs."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200
