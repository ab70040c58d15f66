"""Satisfaction surveys: templates (nps, scale, choice, text), sent after callback, after
handover and yearly, once per thing, by SMS link; answered once; NPS and CSAT per project."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from anju.aftersales.care import selectors, services
from anju.aftersales.care.services import CareError, QuestionSpec
from anju.aftersales.care.testing import *  # noqa: F403
from anju.aftersales.care.testing import run_ticket_to_completion
from anju.aftersales.models import SurveyInvitation, SurveyResponse, SurveyTemplate
from anju.aftersales.tickets import services as tickets

pytestmark = pytest.mark.django_db


def answers_for(template, nps, scale, choice="准时", text=""):
    by_kind = {q.kind: q.pk for q in template.questions.all()}
    return {by_kind["nps"]: nps, by_kind["scale"]: scale, by_kind["choice"]: choice,
            by_kind["text"]: text}


def test_a_template_names_the_wrong_question_and_one_active_survey_per_trigger(
        org, care_staff, survey_template):
    with pytest.raises(ValidationError) as caught:
        services.survey_template_create(actor=care_staff["manager"], company=org["first"],
                                        name="坏问卷", trigger="callback",
                                        questions=[QuestionSpec("choice", "只有一个选项", ("是",))])
    [message] = caught.value.message_dict["questions"]
    assert "1" in message  # names the question by its number
    with pytest.raises(ValidationError) as caught:
        services.survey_template_create(actor=care_staff["manager"], company=org["first"],
                                        name="x", trigger="weekly",
                                        questions=[QuestionSpec("text", "?")])
    assert "trigger" in caught.value.message_dict
    first = survey_template(org["first"])
    second = survey_template(org["first"], name="新版回访问卷")
    first.refresh_from_db()
    assert not first.is_active and second.is_active
    assert SurveyTemplate.objects.count() == 2


def test_invitation_is_sent_once_per_reference_with_a_link_by_sms(
        org, estate, survey_template, sms, django_capture_on_commit_callbacks):
    survey_template(org["first"], trigger="manual")
    owner = estate["owners"]["7-101"]
    with django_capture_on_commit_callbacks(execute=True):
        first = services.survey_invite(customer=owner, project=org["a"], trigger="manual",
                                       reference="campaign:1")
        again = services.survey_invite(customer=owner, project=org["a"], trigger="manual",
                                       reference="campaign:1")
    assert first == again
    assert SurveyInvitation.objects.count() == 1
    assert len(sms) == 1
    phone, text = sms[0]
    assert phone == owner.primary_phone
    assert f"/owner/surveys/{first.token}/" in text
    # no active survey for a trigger: nothing is sent
    assert services.survey_invite(customer=owner, project=org["a"], trigger="yearly",
                                  reference="year:2026") is None


def test_answers_are_checked_per_question_and_stored_once(org, estate, survey_template):
    template = survey_template(org["first"], trigger="manual")
    invitation = services.survey_invite(customer=estate["owners"]["7-101"], project=org["a"],
                                        trigger="manual", reference="r1", send_sms=False)
    nps_q = template.questions.get(kind="nps")
    with pytest.raises(ValidationError) as caught:
        services.survey_submit(invitation=invitation,
                               answers=answers_for(template, nps=11, scale="", choice="也许"))
    fields = caught.value.message_dict
    scale_q = template.questions.get(kind="scale")
    choice_q = template.questions.get(kind="choice")
    assert set(fields) == {f"q{nps_q.pk}", f"q{scale_q.pk}", f"q{choice_q.pk}"}
    assert SurveyResponse.objects.count() == 0  # nothing half-written
    response = services.survey_submit(invitation=invitation,
                                      answers=answers_for(template, nps=9, scale=4))
    assert response.nps_score == 9 and response.csat_score == 4
    invitation.refresh_from_db()
    with pytest.raises(CareError) as twice:
        services.survey_submit(invitation=invitation,
                               answers=answers_for(template, nps=1, scale=1))
    assert twice.value.code == "already_answered"
    assert SurveyResponse.objects.count() == 1


def test_an_expired_link_is_refused(org, estate, survey_template):
    survey_template(org["first"], trigger="manual")
    invitation = services.survey_invite(customer=estate["owners"]["7-102"], project=org["a"],
                                        trigger="manual", reference="r2", send_sms=False)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1))
    invitation.refresh_from_db()
    with pytest.raises(CareError) as caught:
        services.survey_submit(invitation=invitation, answers={})
    assert caught.value.code == "expired"


def _answered(org, estate, template, pairs):
    for (label, (nps, scale)) in zip(sorted(estate["owners"]), pairs, strict=False):
        invitation = services.survey_invite(customer=estate["owners"][label], project=org["a"],
                                            trigger=template.trigger, reference=f"t:{label}",
                                            send_sms=False)
        services.survey_submit(invitation=invitation,
                               answers=answers_for(template, nps=nps, scale=scale))


def test_nps_and_csat_per_project_and_only_in_the_viewers_scope(org, estate, care_staff,
                                                                 survey_template):
    template = survey_template(org["first"], trigger="manual")
    _answered(org, estate, template, [(10, 5), (9, 4), (3, 2), (7, 3)])
    [row] = selectors.survey_scores(user=care_staff["agent"])
    assert (row.responses, row.promoters, row.detractors) == (4, 2, 1)
    assert row.nps == 25  # (2 − 1) / 4
    assert row.csat == 50  # 5 and 4 of four answers
    assert selectors.survey_scores(user=care_staff["outsider"]) == []
    # a period without answers
    assert selectors.survey_scores(user=care_staff["agent"],
                                   date_to=datetime.date(2020, 1, 1)) == []


def test_callback_sweep_and_yearly_survey_invite_each_owner_once(
        org, estate, care_staff, lib, survey_template, sms,
        django_capture_on_commit_callbacks):
    survey_template(org["first"], trigger="callback")
    survey_template(org["first"], trigger="yearly", name="年度满意度调查")
    agent = care_staff["agent"]
    owner = estate["owners"]["7-101"]
    ticket = tickets.ticket_create(actor=agent, customer_id=owner.pk,
                                   unit_id=estate["units"]["7-101"].pk,
                                   location_id=lib["卫生间"].pk, component_id=lib["天花"].pk,
                                   category_id=lib["渗漏"].pk, description="天花渗水")
    run_ticket_to_completion(agent=agent, worker=agent, ticket_id=ticket.pk)
    tickets.ticket_confirm(actor=agent, ticket_id=ticket.pk, on_behalf=True)
    tickets.ticket_close(actor=agent, ticket_id=ticket.pk)
    tickets.ticket_callback(actor=agent, ticket_id=ticket.pk, score=5, comment="很好")
    since = timezone.now() - datetime.timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.surveys_after_callbacks(since=since) == 1
        assert services.surveys_after_callbacks(since=since) == 1  # the same one, not a copy
    assert SurveyInvitation.objects.filter(trigger="callback").count() == 1
    assert SurveyInvitation.objects.get(trigger="callback").reference == f"ticket:{ticket.pk}"
    assert services.surveys_yearly(year=2026) == 4
    services.surveys_yearly(year=2026)
    assert SurveyInvitation.objects.filter(trigger="yearly").count() == 4


def test_scores_page_and_section_and_api_with_pinned_queries(
        org, estate, care_staff, survey_template, django_assert_max_num_queries):
    template = survey_template(org["first"], trigger="manual")
    _answered(org, estate, template, [(10, 5), (2, 1)])
    page_client = Client()
    page_client.force_login(care_staff["agent"])
    url = reverse("aftersales:survey_scores")
    page_client.get(url)
    with django_assert_max_num_queries(16):
        page = page_client.get(url)
    body = page.content.decode()
    assert page.status_code == 200 and "四季花城" in body
    assert '<td class="nps">0</td>' in body and '<td class="csat">50</td>' in body
    owner = estate["owners"]["7-101"]
    section = page_client.get(reverse("customers:section", args=[owner.pk, "service-surveys"]))
    assert section.status_code == 200 and template.name in section.content.decode()
    # the sales consultant sees no service pages
    sales = Client()
    sales.force_login(care_staff["consultant"])
    assert sales.get(url).status_code == 403

    api = APIClient()
    api.force_authenticate(care_staff["agent"])
    scores = api.get("/api/v1/service/survey-responses/scores/").json()
    assert scores == [{"project": org["a"].pk, "project_name": "四季花城", "responses": 2,
                       "nps": 0, "csat": 50}]
    with django_assert_max_num_queries(6):
        listed = api.get("/api/v1/service/survey-responses/")
    assert len(listed.json()["results"]) == 2
    with django_assert_max_num_queries(6):
        invitations = api.get("/api/v1/service/survey-invitations/", {"customer": owner.pk})
    assert [i["customer_name"] for i in invitations.json()["results"]] == [owner.name]
    outsider = APIClient()
    outsider.force_authenticate(care_staff["outsider"])
    assert outsider.get("/api/v1/service/survey-responses/").json()["results"] == []


def test_api_creates_a_template_and_sends_it(org, estate, care_staff, sms,
                                             django_capture_on_commit_callbacks):
    api = APIClient()
    api.force_authenticate(care_staff["manager"])
    created = api.post("/api/v1/service/survey-templates/", {
        "company": org["first"].pk, "name": "交付满意度", "trigger": "manual",
        "questions": [{"kind": "nps", "text": "推荐意愿"},
                      {"kind": "choice", "text": "单选", "choices": ["只有一个"]}]},
        format="json")
    assert created.status_code == 400 and "questions" in created.json()["fields"]
    created = api.post("/api/v1/service/survey-templates/", {
        "company": org["first"].pk, "name": "交付满意度", "trigger": "manual",
        "questions": [{"kind": "nps", "text": "推荐意愿"}, {"kind": "scale", "text": "满意度"}]},
        format="json")
    assert created.status_code == 201, created.json()
    assert [q["kind"] for q in created.json()["questions"]] == ["nps", "scale"]
    owner = estate["owners"]["7-201"]
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post("/api/v1/service/survey-invitations/send/",
                        {"customer": owner.pk, "project": org["a"].pk, "trigger": "manual",
                         "reference": "event:1"}, format="json")
    assert sent.status_code == 201 and len(sms) == 1
    agent = APIClient()
    agent.force_authenticate(care_staff["agent"])
    # agents read templates, only managers write them
    assert agent.post("/api/v1/service/survey-templates/", {}, format="json").status_code == 403


def test_managers_write_survey_templates_on_a_page_with_errors_named(
        org, care_staff, survey_template, django_assert_max_num_queries):
    survey_template(org["first"], trigger="callback")
    manager = Client()
    manager.force_login(care_staff["manager"])
    url = reverse("aftersales:survey_templates")
    manager.get(url)
    with django_assert_max_num_queries(14):
        page = manager.get(url)
    assert "您有多大可能向亲友推荐我们？" in page.content.decode()
    bad = manager.post(url, {"company": org["first"].pk, "name": "交付问卷",
                             "trigger": "handover", "questions": "choice | 只有一个 | 是"})
    assert bad.status_code == 400 and 'data-field="questions"' in bad.content.decode()
    assert "交付问卷" in bad.content.decode()  # what was typed is kept
    bad = manager.post(url, {"company": org["first"].pk, "name": "交付问卷",
                             "trigger": "handover", "questions": "星级 | 打几颗星"})
    assert bad.status_code == 400 and 'data-field="questions"' in bad.content.decode()
    good = manager.post(url, {"company": org["first"].pk, "name": "交付问卷",
                              "trigger": "handover",
                              "questions": "推荐 | 推荐意愿\n满意度 | 交付服务\n"
                                           "单选 | 是否准时 | 准时 / 迟到\n文字 | 建议"})
    assert good.status_code == 302
    made = SurveyTemplate.objects.get(name="交付问卷")
    assert [(q.kind, q.required) for q in made.questions.all()] == [
        ("nps", True), ("scale", True), ("choice", True), ("text", False)]
    assert made.questions.get(kind="choice").choices == ["准时", "迟到"]
    agent = Client()
    agent.force_login(care_staff["agent"])
    assert agent.get(url).status_code == 200
    assert agent.post(url, {"company": org["first"].pk}).status_code == 403
