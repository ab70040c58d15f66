"""Pinyin search keys for Chinese names: `zs` and `zhangsan` both find 张三.

Polyphonic characters contribute every reading (曾 → zeng, ceng; 单 → shan, dan, chan), so
whichever one the user has in mind matches. The number of combinations is capped."""

import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass, field

from pypinyin import Style, pinyin

MAX_COMBINATIONS = 16
_SEGMENTS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\u3400-\u9fff\uf900-\ufaff]+")
_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class NameKeys:
    """`pinyin_full`: "zhangsan" forms; `pinyin_spaced`: "zhang san"; `initials`: "zs"."""

    pinyin_full: list[str] = field(default_factory=list)
    pinyin_spaced: list[str] = field(default_factory=list)
    initials: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        """Every key, without repeats, in order: full, spaced, initials."""
        seen: dict[str, None] = {}
        for key in (*self.pinyin_full, *self.pinyin_spaced, *self.initials):
            seen.setdefault(key, None)
        return list(seen)

    def as_text(self) -> str:
        """One space-separated string to store in a search column (`icontains` finds any key)."""
        return " | ".join(self.all())


@functools.lru_cache(maxsize=65536)
def _segment_readings(segment: str) -> tuple[tuple[str, ...], ...]:
    """The syllables of one segment (one Chinese character, or a run of other text), each with
    its readings. Cached: a name is a handful of common characters, and pypinyin is slow."""
    parts: list[tuple[str, ...]] = []
    for readings in pinyin([segment], style=Style.NORMAL, heteronym=True, errors="default"):
        cleaned: list[str] = []
        for reading in readings:
            # A run of non-Chinese text comes back whole ("Anna", " ", "·").
            for word in _WORDS.findall(reading.lower().replace("ü", "v")):
                if word not in cleaned:
                    cleaned.append(word)
        if not cleaned:
            continue
        if len(readings) == 1 and len(cleaned) > 1:
            # A latin phrase ("Anna Li") is several syllables, each with one reading.
            parts.extend((word,) for word in cleaned)
        else:
            parts.append(tuple(cleaned))
    return tuple(parts)


def _readings(name: str) -> list[list[str]]:
    """Per syllable, its readings (lower-case ASCII); latin words are kept as one syllable."""
    # One character at a time: as a phrase, pypinyin would give a word one reading only
    # (单单 → dan dan), and a name is not a word.
    return [list(readings) for segment in _SEGMENTS.findall(name)
            for readings in _segment_readings(segment)]


def name_search_keys(name: str) -> NameKeys:
    """Search keys for a name, with every reading of polyphonic characters (capped)."""
    text = unicodedata.normalize("NFKC", name or "").strip()
    parts = _readings(text)
    if not parts:
        return NameKeys()
    full: list[str] = []
    spaced: list[str] = []
    for combo in itertools.islice(itertools.product(*parts), MAX_COMBINATIONS):
        full.append("".join(combo))
        spaced.append(" ".join(combo))
    # Initials have fewer combinations than readings: enumerate them on their own, so the cap
    # on readings never hides an initial (曾单单 → zss, zsd, …, cdd).
    letters = [list(dict.fromkeys(reading[0] for reading in readings)) for readings in parts]
    initials = ["".join(combo) for combo in
                itertools.islice(itertools.product(*letters), MAX_COMBINATIONS)]
    return NameKeys(pinyin_full=list(dict.fromkeys(full)),
                    pinyin_spaced=list(dict.fromkeys(spaced)),
                    initials=initials)
