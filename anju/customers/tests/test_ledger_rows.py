"""The list's rows and the 360° timeline, written in Python (`templatetags/ledger_rows.py`): the
same HTML as the templates they replaced (kept below as the reference), escaping and masking
included, in both languages."""

import datetime

import pytest
from django.db.models import Prefetch, prefetch_related_objects
from django.template import engines
from django.urls import reverse
from django.utils import timezone, translation

from anju.customers import selectors
from anju.customers.models import CustomerTag, Interaction, Tag, TagDimension
from anju.customers.templatetags.ledger_rows import customer_rows, interaction_items

# The templates as they were before the rows moved to Python (commit 4a12303).
REFERENCE_ROWS = """{% load i18n anju_mask %}{% for customer in page.rows %}
<tr>
  <td><a href="{% url 'customers:detail' customer.pk %}">{{ customer.name }}</a></td>
  <td>{{ customer.primary_phone|mask_phone }}</td>
  <td>{% if customer.tier_override %}{{ customer.get_tier_override_display }}{% else %}{{ customer.get_tier_display }}{% endif %}</td>
  <td>{{ customer.get_stage_display }}</td>
  <td>{% for link in customer.tag_links.all %}<span class="tag">{{ link.tag.name }}</span> {% endfor %}</td>
  <td>{{ customer.owner|default:"—" }}</td>
  <td>{{ customer.project.name|default:"—" }}</td>
  <td>{{ customer.last_contact_at|date:"Y-m-d H:i"|default:"—" }}</td>
</tr>
{% endfor %}"""  # noqa: E501

REFERENCE_TIMELINE = """{% load i18n %}{% for item in view.interactions %}
    <li class="interaction interaction-{{ item.kind }}">
      <time datetime="{{ item.occurred_at|date:'c' }}">{{ item.occurred_at|date:"Y-m-d H:i" }}</time>
      <strong>{{ item.get_kind_display }}</strong> · {{ item.user|default:"—" }}{% if item.project %} · {{ item.project.name }}{% endif %}
      {% if item.outcome %}<div>{{ item.outcome }}</div>{% endif %}
      {% if item.notes %}<div class="muted">{{ item.notes|linebreaksbr }}</div>{% endif %}
      {% if item.next_follow_up_at %}<div>{% translate "next follow-up" %}: {{ item.next_follow_up_at|date:"Y-m-d H:i" }}{% if item.follow_up_done_at %} ✓{% endif %}</div>{% endif %}
    </li>
  {% endfor %}"""  # noqa: E501

SCRIPT = '<script>alert("x")</script>'


def _reference(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


@pytest.fixture
def ledger(people, org, make_customer, make_user):
    dimension = TagDimension.objects.create(code="odd", name="<b>维度</b>", order=1)
    odd_tag = Tag.objects.create(dimension=dimension, name=f"{SCRIPT}&amp;")
    plain_tag = Tag.objects.exclude(pk=odd_tag.pk).first()
    quoted = make_user("quoted", "sales_consultant", projects=[org["a"]],
                       display_name='王"<i>顾问</i>\'')
    when = timezone.make_aware(datetime.datetime(2026, 1, 2, 23, 59, 30, 123456),
                               datetime.UTC)
    customers = [
        make_customer(SCRIPT, phones=["13800138000"], owner=quoted, tier="vip",
                      last_contact_at=when),
        make_customer("张三", phones=["010-66666666"], owner=None, tier="key",
                      tier_override="ordinary", stage="buyer"),
        make_customer("Tom & Jerry", phones=["+44 20 7946 0000"], owner=people["consultant"]),
        make_customer("无电话", phones=[], owner=people["consultant"], stage="owner"),
    ]
    late = TagDimension.objects.create(code="late", name="最后", order=999)
    customers[0].tag_links.create(tag=Tag.objects.create(dimension=late, name="末"))
    customers[0].tag_links.create(tag=odd_tag)
    customers[0].tag_links.create(tag=plain_tag)
    customers[1].tag_links.create(tag=plain_tag)
    customers[2].project = None
    customers[2].save(update_fields=["project"])
    first = customers[0]
    Interaction.objects.bulk_create([
        Interaction(customer=first, user=quoted, project=org["a"], kind="visit",
                    occurred_at=when, outcome=f"看房 & {SCRIPT}",
                    notes=f"第一行\r\n第二行 {SCRIPT}\n第三行",
                    next_follow_up_at=when + datetime.timedelta(days=1),
                    follow_up_done_at=when + datetime.timedelta(days=2)),
        Interaction(customer=first, user=None, kind="wechat",
                    occurred_at=when - datetime.timedelta(hours=5),
                    next_follow_up_at=when + datetime.timedelta(days=3)),
        *[Interaction(customer=first, user=people["consultant"], kind=kind,
                      occurred_at=when - datetime.timedelta(days=index + 1))
          for index, kind in enumerate(Interaction.Kind.values)],
    ])
    return {"customers": customers, "admin": people["admin"]}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_customer_rows_same_html_as_the_template(ledger, language):
    with translation.override(language):
        page = selectors.customer_list(viewer=ledger["admin"], columns=selectors.LIST_COLUMNS)
        assert len(page.rows) == 4
        # the tags as the page loaded them before (link objects, prefetched in this order)
        prefetch_related_objects(page.rows, Prefetch(
            "tag_links", queryset=CustomerTag.objects.select_related("tag")
            .order_by("tag__dimension__order", "tag__name")))
        assert str(customer_rows(page)) == _reference(REFERENCE_ROWS, page=page)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_timeline_same_html_as_the_template(ledger, language):
    first = ledger["customers"][0]
    with translation.override(language), timezone.override("Asia/Shanghai"):
        view = selectors.customer_get_360(viewer=ledger["admin"], pk=first.pk)
        assert len(view.interactions) == 2 + len(Interaction.Kind.values)
        assert (str(interaction_items(view.interactions))
                == _reference(REFERENCE_TIMELINE, view=view))


def test_list_page_rows_masked_and_escaped(ledger, client_for):
    body = client_for(ledger["admin"]).get(reverse("customers:list")).content.decode()
    assert SCRIPT not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;amp;" in body  # the tag
    assert "王&quot;&lt;i&gt;顾问&lt;/i&gt;&#x27;" in body
    assert "138****8000" in body and "13800138000" not in body
    assert "010****6666" in body and "66666666" not in body
    assert "Tom &amp; Jerry" in body
    first = ledger["customers"][0]
    assert f'<a href="{reverse("customers:detail", args=[first.pk])}">' in body
    assert "2026-01-03 07:59" in body  # last contact in Asia/Shanghai


def test_list_page_labels_follow_the_language(ledger, client_for):
    client = client_for(ledger["admin"])
    chinese = client.get(reverse("customers:list")).content.decode()
    assert "<td>普通</td>" in chinese and "<td>成交</td>" in chinese
    client.cookies["django_language"] = "en"
    english = client.get(reverse("customers:list")).content.decode()
    assert "<td>ordinary</td>" in english and "<td>buyer</td>" in english


def test_timeline_on_the_360_page_escaped(ledger, client_for):
    first = ledger["customers"][0]
    body = client_for(ledger["admin"]).get(reverse("customers:detail",
                                                   args=[first.pk])).content.decode()
    assert SCRIPT not in body
    assert "第一行<br>第二行 &lt;script&gt;" in body
    assert "看房 &amp; &lt;script&gt;" in body
    assert '<time datetime="2026-01-03T07:59:30.123456+08:00">2026-01-03 07:59</time>' in body
    assert "✓" in body


def test_timeline_without_interactions_says_so(people, make_customer, client_for):
    customer = make_customer("张三", owner=people["consultant"])
    body = client_for(people["consultant"]).get(
        reverse("customers:detail", args=[customer.pk])).content.decode()
    assert '<ol class="timeline"><li class="empty">' in body
