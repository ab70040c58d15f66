"""Grading A/B/C/D from configurable rules, with the words that explain the grade.

Each active `GradingRule` (the project's own, else those for every project) is one criterion:
its points count when met; the sum against the policy's thresholds gives A, B or C; a met
criterion that disqualifies gives D. The explanation lists every criterion, met or not:
"B: budget matches, visited once, no date set"."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Grade, GradingRule, LeadPolicy


@dataclass(frozen=True)
class GradeFacts:
    budget_wan: Decimal | None
    timing: str
    visits: int
    unit_type: str
    channel_kind: str


@dataclass(frozen=True)
class GradeResult:
    grade: str
    points: int
    reason: str


def _default_label(rule: GradingRule, met: bool, facts: GradeFacts) -> str:
    field = rule.field
    if field == GradingRule.Field.BUDGET:
        if facts.budget_wan is None:
            return _("no budget given")
        return _("budget matches") if met else _("budget below range")
    if field == GradingRule.Field.TIMING:
        if not facts.timing:
            return _("no date set")
        return _("buying soon") if met else _("buying later")
    if field == GradingRule.Field.VISITS:
        if facts.visits == 0:
            return _("not visited yet")
        return ngettext("visited once", "visited %(count)d times", facts.visits) % {
            "count": facts.visits}
    if field == GradingRule.Field.UNIT_TYPE:
        return _("unit type chosen") if met else _("no unit type")
    if field == GradingRule.Field.CHANNEL_KIND:
        return _("channel counts") if met else _("other channel")
    return ""


def _met(rule: GradingRule, facts: GradeFacts) -> bool:
    value = getattr(facts, rule.field, None)
    if rule.op == GradingRule.Op.SET:
        return value not in (None, "", 0)
    if value in (None, ""):
        return False
    if rule.op == GradingRule.Op.IN:
        wanted = {item.strip() for item in rule.value.split(",") if item.strip()}
        return str(value) in wanted
    try:
        limit = Decimal(rule.value)
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return False
    return number >= limit if rule.op == GradingRule.Op.GTE else number <= limit


def grade_for(*, facts: GradeFacts, rules: list[GradingRule], policy: LeadPolicy
              ) -> GradeResult:
    points = 0
    disqualified = False
    words: list[str] = []
    for rule in rules:
        met = _met(rule, facts)
        label = (rule.label_met if met else rule.label_unmet) or _default_label(rule, met, facts)
        if met:
            points += rule.points
            disqualified = disqualified or rule.disqualifies
        if label:
            words.append(label)
    if disqualified:
        grade = Grade.D
    elif points >= policy.grade_a_min:
        grade = Grade.A
    elif points >= policy.grade_b_min:
        grade = Grade.B
    else:
        grade = Grade.C
    reason = f"{grade}: " + _(", ").join(words) if words else str(grade)
    return GradeResult(grade=str(grade), points=points, reason=reason[:300])
