"""Two people editing one record: the second save is refused, field by field, nothing lost."""

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from anju.core.locking import (
    VersionConflict,
    VersionedFormMixin,
    conflict_context,
    update_versioned,
)
from anju.core.tests.platform_helpers import make_company, make_project, model

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return make_project(make_company(), "滨江一号", "bj1")


def test_update_with_the_read_version_saves_and_bumps_it(project):
    with CaptureQueriesContext(connection) as queries:
        saved = update_versioned(project, expected_version=1, changes={"city": "杭州"},
                                 validate=False)
    updates = [q["sql"] for q in queries.captured_queries
               if q["sql"].startswith('UPDATE "accounts_project"')]
    assert len(updates) == 1  # one conditional UPDATE, version bumped in the database
    assert '"version" = 1' in updates[0].replace("(", "").replace(")", "")
    assert (saved.city, saved.version) == ("杭州", 2)
    assert saved.updated_at > project.updated_at


def test_stale_version_raises_with_the_fresh_row_and_writes_nothing(project):
    update_versioned(type(project), pk=project.pk, expected_version=1, changes={"city": "杭州"})
    with pytest.raises(VersionConflict) as caught:
        update_versioned(project, expected_version=1, changes={"city": "上海", "district": "浦东"})
    conflict = caught.value
    assert conflict.current.city == "杭州"
    assert conflict.current.version == 2
    assert conflict.attempted == {"city": "上海", "district": "浦东"}
    project.refresh_from_db()
    assert (project.city, project.district, project.version) == ("杭州", "", 2)


def test_conditional_update_loses_a_race_it_did_not_see(project, monkeypatch):
    # Another writer commits between our read and our UPDATE.
    from anju.core import locking

    real_get = type(project)._default_manager.get
    calls = {"n": 0}

    def get_then_race(**kwargs):
        row = real_get(**kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            type(project)._default_manager.filter(pk=project.pk).update(city="苏州", version=2)
        return row

    monkeypatch.setattr(type(project)._default_manager, "get", get_then_race)
    with pytest.raises(locking.VersionConflict) as caught:
        update_versioned(project, expected_version=1, changes={"city": "上海"})
    assert caught.value.current.city == "苏州"


def test_invalid_changes_are_field_errors_and_nothing_is_written(project):
    with pytest.raises(ValidationError) as caught:
        update_versioned(project, expected_version=1, changes={"city": "长" * 80})
    assert set(caught.value.message_dict) == {"city"}
    project.refresh_from_db()
    assert (project.city, project.version) == ("", 1)


def test_version_and_many_to_many_cannot_be_set(project):
    with pytest.raises(ValueError, match="version"):
        update_versioned(project, expected_version=1, changes={"version": 9})


class ProjectForm(VersionedFormMixin, forms.ModelForm):
    class Meta:
        model = model("accounts.Project")
        fields = ["name", "city"]


def test_form_carries_the_version_in_a_hidden_field(project):
    form = ProjectForm(instance=project)
    html = str(form["version"])
    assert 'type="hidden"' in html and 'value="1"' in html
    posted = ProjectForm({"name": "滨江一号", "city": "杭州", "version": "1"}, instance=project)
    assert posted.is_valid(), posted.errors
    assert posted.expected_version == 1
    assert not ProjectForm({"name": "x", "city": ""}, instance=project).is_valid()


def test_conflict_partial_shows_yours_and_saved_side_by_side(project):
    update_versioned(project, expected_version=1, changes={"city": "杭州", "district": "滨江"})
    try:
        update_versioned(project, expected_version=1, changes={"city": "上海", "district": "滨江"})
    except VersionConflict as conflict:
        context = conflict_context(conflict)
    with translation.override("en"):
        html = render_to_string("core/conflict.html", context)
    assert "Your version" in html and "The saved version" in html
    assert html.count("conflict-differs") == 1  # city differs, district is the same
    assert "上海" in html and "杭州" in html
    rows = {row.name: row for row in context["conflict_rows"]}
    assert (rows["city"].yours, rows["city"].saved, rows["city"].differs) == ("上海", "杭州", True)
    assert rows["district"].differs is False
    assert context["current_version"] == 2
