"""Every string a user sees has its Simplified Chinese text (zh-hans is the default language)."""

from pathlib import Path

import polib
import pytest

CATALOGUES = sorted(Path(__file__).resolve().parents[2].rglob("locale/zh_Hans/LC_MESSAGES/*.po"))


def test_there_are_catalogues():
    assert len(CATALOGUES) >= 3


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(p.parent.parent.parent.parent.name))
def test_catalogue_is_complete_and_not_fuzzy(path):
    catalogue = polib.pofile(str(path))
    missing = [
        entry.msgid for entry in catalogue
        if not entry.obsolete and (
            "fuzzy" in entry.flags
            or (entry.msgid_plural and not all(entry.msgstr_plural.values()))
            or (not entry.msgid_plural and not entry.msgstr)
        )
    ]
    assert missing == [], f"{path}: untranslated or fuzzy: {missing[:10]}"
