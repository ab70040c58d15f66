"""What the list and 360° pages read once per page: the tag choices of their forms."""

from django.db import connection
from django.db.models import Prefetch
from django.test.utils import CaptureQueriesContext

from anju.customers import selectors
from anju.customers.models import Tag, TagDimension


def _two_queries():
    """The choices as they were read before (dimensions, then their active tags)."""
    dimensions = TagDimension.objects.prefetch_related(
        Prefetch("tags", queryset=Tag.objects.filter(is_active=True).order_by("name")))
    return [(dimension, list(dimension.tags.all())) for dimension in dimensions]


def test_tag_choices_in_one_query_same_groups(db):
    empty = TagDimension.objects.create(code="empty", name="空维度", order=0)
    retired = TagDimension.objects.create(code="retired", name="停用", order=0)
    Tag.objects.create(dimension=retired, name="旧标签", is_active=False)
    late = TagDimension.objects.create(code="late", name="最后", order=999)
    for name in ("乙", "甲", "<丙>"):
        Tag.objects.create(dimension=late, name=name)
    Tag.objects.create(dimension=late, name="停用的", is_active=False)
    with CaptureQueriesContext(connection) as captured:
        groups = selectors.tag_choices()
    assert len(captured) == 1

    def shape(choice_groups):
        return [((d.pk, d.code, d.name, d.allows_many, d.order),
                 [(t.pk, t.dimension_id, t.name, t.is_active) for t in tags])
                for d, tags in choice_groups]

    assert shape(groups) == shape(_two_queries())
    assert [d for d, _tags in groups][:2] == [empty, retired]
    assert groups[-1][0] == late and [t.name for t in groups[-1][1]] == sorted(["乙", "甲", "<丙>"])
