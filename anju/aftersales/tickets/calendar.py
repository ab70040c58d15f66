"""Working time: which days are working days (China's public holidays and the swapped
working weekends 调休 from `chinese_calendar`, overridden by an admin's `CalendarDay` rows for
the years the library does not know yet), and adding working hours to a moment.

All arithmetic happens in Asia/Shanghai wall time; results are aware datetimes (UTC in the
database). A `WorkingTime` is built once per company and sweep, and caches its day checks."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import chinese_calendar

from anju.aftersales.models import CalendarDay, WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_START = dt.time(9, 0)
DEFAULT_END = dt.time(18, 0)
MAX_DAYS_AHEAD = 3660  # ten years of days: beyond that something is misconfigured


@dataclass
class WorkingTime:
    day_start: dt.time = DEFAULT_START
    day_end: dt.time = DEFAULT_END
    overrides: dict[dt.date, bool] = field(default_factory=dict)
    _cache: dict[dt.date, bool] = field(default_factory=dict, repr=False)

    @classmethod
    def for_company(cls, company_id: int | None) -> "WorkingTime":
        calendar = (WorkCalendar.objects.filter(company_id=company_id).first()
                    if company_id else None)
        if calendar is None:
            return cls()
        overrides = dict(CalendarDay.objects.filter(calendar=calendar)
                         .values_list("date", "is_workday"))
        return cls(day_start=calendar.day_start, day_end=calendar.day_end, overrides=overrides)

    # -- days
    def is_workday(self, day: dt.date) -> bool:
        known = self._cache.get(day)
        if known is not None:
            return known
        if day in self.overrides:
            result = self.overrides[day]
        else:
            try:
                result = chinese_calendar.is_workday(day)
            except NotImplementedError:
                # A year the library does not know: Monday to Friday until an admin says more.
                result = day.weekday() < 5
        self._cache[day] = result
        return result

    @property
    def seconds_per_day(self) -> int:
        start = self.day_start.hour * 3600 + self.day_start.minute * 60
        end = self.day_end.hour * 3600 + self.day_end.minute * 60
        return max(end - start, 60)

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        return (dt.datetime.combine(day, self.day_start, SHANGHAI),
                dt.datetime.combine(day, self.day_end, SHANGHAI))

    # -- arithmetic
    def add(self, start: dt.datetime, hours: Decimal | float | int) -> dt.datetime:
        """The moment `hours` working hours after `start`."""
        return self.add_seconds(start, int(Decimal(str(hours)) * 3600))

    def add_seconds(self, start: dt.datetime, seconds: int) -> dt.datetime:
        local = start.astimezone(SHANGHAI)
        day = local.date()
        remaining = max(int(seconds), 0)
        for _ in range(MAX_DAYS_AHEAD):
            if self.is_workday(day):
                opens, closes = self._window(day)
                begin = max(local, opens)
                if begin < closes:
                    available = int((closes - begin).total_seconds())
                    if remaining <= available:
                        return (begin + dt.timedelta(seconds=remaining)).astimezone(dt.UTC)
                    remaining -= available
            day += dt.timedelta(days=1)
            local = dt.datetime.combine(day, dt.time(0), SHANGHAI)
        raise ValueError("no working time within ten years: check the calendar")

    def between(self, start: dt.datetime, end: dt.datetime) -> int:
        """Working seconds from `start` to `end` (0 if end is not after start)."""
        if end <= start:
            return 0
        local_start, local_end = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
        total = 0
        day = local_start.date()
        while day <= local_end.date():
            if self.is_workday(day):
                opens, closes = self._window(day)
                begin, finish = max(opens, local_start), min(closes, local_end)
                if finish > begin:
                    total += int((finish - begin).total_seconds())
            day += dt.timedelta(days=1)
        return total
