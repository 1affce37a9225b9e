"""Story time: the ten-week window, working days and working-hour arithmetic.

All story times are aware datetimes in the company's zone. Arithmetic runs on
wall-clock time, which is how people experience a working day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["Clock", "add_work_minutes", "is_workday", "start_of_work"]

WEEKS = 10


def is_workday(day: date) -> bool:
    """Return whether ``day`` is a weekday."""
    return day.weekday() < 5


@dataclass(frozen=True, slots=True)
class Clock:
    """The window the story covers: ten weeks ending at 08:00 on ``today``."""

    today: date
    zone: ZoneInfo

    @property
    def end(self) -> datetime:
        """Return the moment the CEO's day starts; nothing in the past lies after it."""
        return self.at(self.today, 8)

    @property
    def start(self) -> datetime:
        """Return the first moment of the window."""
        return self.at(self.today - timedelta(weeks=WEEKS), 0)

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """Return ``day`` at ``hour:minute`` local time."""
        return datetime.combine(day, time(hour, minute), tzinfo=self.zone)

    def days(self) -> list[date]:
        """Return every day in the window, oldest first, ending the day before today."""
        first = self.start.date()
        return [first + timedelta(days=n) for n in range((self.today - first).days)]

    def workdays(self) -> list[date]:
        """Return the weekdays of the window before today."""
        return [d for d in self.days() if is_workday(d)]

    def weeks(self) -> list[date]:
        """Return the Monday of each week in the window, oldest first."""
        first = self.start.date()
        monday = first - timedelta(days=first.weekday())
        return [
            monday + timedelta(weeks=n)
            for n in range(WEEKS + 1)
            if monday + timedelta(weeks=n) < self.today
        ]

    def moment_in(self, rng: random.Random, day: date, start_hour: int, end_hour: int) -> datetime:
        """Return a random minute on ``day`` between the two hours."""
        minutes = rng.randrange(start_hour * 60, max(start_hour * 60 + 1, end_hour * 60 - 10))
        return self.at(day, minutes // 60, minutes % 60)


def start_of_work(moment: datetime, start_hour: int, end_hour: int) -> datetime:
    """Return ``moment``, or the next moment inside working hours if it lies outside them."""
    day = moment.date()
    opening = moment.replace(hour=start_hour, minute=0, second=0)
    closing = moment.replace(hour=end_hour, minute=0, second=0)
    if is_workday(day) and opening <= moment < closing:
        return moment
    if is_workday(day) and moment < opening:
        return opening
    day += timedelta(days=1)
    while not is_workday(day):
        day += timedelta(days=1)
    return datetime.combine(day, time(start_hour), tzinfo=moment.tzinfo)


def add_work_minutes(moment: datetime, minutes: int, start_hour: int, end_hour: int) -> datetime:
    """Return the moment ``minutes`` of working time after ``moment``; the clock stops off hours."""
    current = start_of_work(moment, start_hour, end_hour)
    remaining = minutes
    while True:
        closing = current.replace(hour=end_hour, minute=0, second=0)
        available = int((closing - current).total_seconds() // 60)
        if remaining < available:
            return current + timedelta(minutes=remaining)
        remaining -= available
        current = start_of_work(closing, start_hour, end_hour)
