"""Free/busy: times only, declined meetings are free, weekends are not offered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from tests.agent.acme import ask
from understudy.agent import Intent
from understudy.agent.schedule import free_slots
from understudy.records import Principal
from understudy.store import Store

TITLES = ("Board prep", "Borealis", "Vendor sync", "Offsite", "Pricing", "Saturday", "brunch")


def test_a_colleague_learns_when_maya_is_free_and_nothing_else(shared_org: Store) -> None:
    response = ask(shared_org, "ravi", "When is Maya free?")
    assert response.intent is Intent.AVAILABILITY
    assert response.text == (
        "The understudy of Maya Okafor: free: Wed 18 Nov 10:00–13:00; Wed 18 Nov 14:00–17:00; "
        "Thu 19 Nov 12:00–17:00; Fri 20 Nov 09:00–10:00; Fri 20 Nov 10:30–17:00; "
        "Mon 23 Nov 09:00–17:00"
    )
    shown = response.text + str(response.data)
    assert not any(title.lower() in shown.lower() for title in TITLES)
    assert response.items == []
    assert response.citations == []


def test_a_declined_meeting_leaves_the_time_free(shared_org: Store) -> None:
    # Maya declined the 15:00 vendor sync: the afternoon after board prep is one free block.
    slots = ask(shared_org, "ravi", "When is Maya available?").data["slots"]
    assert ["2026-11-18T14:00:00+00:00", "2026-11-18T17:00:00+00:00"] in [list(s) for s in slots]


def test_weekends_are_never_offered(shared_org: Store) -> None:
    slots = ask(shared_org, "ravi", "When is Maya free?").data["slots"]
    days = {datetime.fromisoformat(start).date() for start, _ in slots}
    assert all(day.weekday() < 5 for day in days)
    assert datetime(2026, 11, 21).date() not in days  # Saturday brunch or not


def test_free_busy_is_not_shared_with_someone_the_owner_shares_nothing_with(
    shared_org: Store,
) -> None:
    response = ask(shared_org, "omar", "When is Maya free?")
    assert response.status == "declined"
    assert "free:" not in response.text


busy_blocks = st.lists(
    st.tuples(st.integers(0, 14 * 24 * 4), st.integers(1, 16)).map(
        lambda t: (
            datetime(2026, 11, 16, tzinfo=UTC) + timedelta(minutes=15 * t[0]),
            datetime(2026, 11, 16, tzinfo=UTC) + timedelta(minutes=15 * (t[0] + t[1])),
        )
    ),
    max_size=20,
)


@given(busy=busy_blocks, offset=st.integers(0, 7 * 24), minutes=st.sampled_from([15, 30, 60]))
def test_free_slots_avoid_busy_times_weekends_and_evenings(
    busy: list[tuple[datetime, datetime]], offset: int, minutes: int
) -> None:
    start = datetime(2026, 11, 16, tzinfo=UTC) + timedelta(hours=offset)
    zone = ZoneInfo("Europe/Lisbon")
    for begin, end in free_slots(sorted(busy), start, 5, zone, minutes):
        assert end - begin >= timedelta(minutes=minutes)
        assert begin >= start
        local_begin, local_end = begin.astimezone(zone), end.astimezone(zone)
        assert local_begin.weekday() < 5
        assert local_begin.date() == local_end.date()
        assert local_begin.hour >= 9
        assert (local_end.hour, local_end.minute) <= (17, 0)
        assert all(end <= b or begin >= e for b, e in busy)


def test_the_calendar_read_is_logged_and_only_times_are_disclosed(shared_org: Store) -> None:
    last = max((e.id or 0 for e in shared_org.list_audit(limit=1)), default=0)
    ask(shared_org, "ravi", "When is Maya free?")
    logged = [e for e in reversed(shared_org.list_audit(limit=50)) if (e.id or 0) > last]
    assert [e.event for e in logged] == ["request", "disclose", "read"]
    assert logged[1].items_read == ()
    assert logged[1].detail == {"what": "free/busy times"}
    logged = [logged[0], logged[2]]
    read = {
        shared_org.get_item(Principal.maintenance(), i).title  # type: ignore[union-attr]
        for i in logged[1].items_read
    }
    # Every event Maya attends in the window; the declined vendor sync does not count.
    assert read == {
        "Board prep: Borealis acquisition",
        "Offsite planning",
        "Pricing review",
        "Saturday brunch",
    }
