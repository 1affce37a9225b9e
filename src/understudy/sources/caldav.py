"""The ``caldav`` connector: events from a CalDAV server, read with the ``caldav`` client.

The location is a calendar's URL, or a principal's or server's URL to read
every calendar of that account. Credentials come from the URL
(``https://user:password@host/…``) or from ``source.options`` (``username``,
``password``); the password never appears in a problem or an error.

Incremental sync keeps, per calendar, the server's sync-token (RFC 6578)
and every object's ETag. A known token asks the server only for what
changed; an object whose ETag is unchanged is not fetched again. A server
without sync-tokens is listed in full and the ETags do the filtering. When
the expansion window moves (a new day) everything is read again so that
recurring events gain their new occurrences; content hashes keep that
idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit, urlunsplit

from understudy.records import Decision
from understudy.sources.base import Checkpoint, Connector, Problem, Reading
from understudy.sources.calendar import (
    CalendarWindow,
    calendar_window,
    observed_decisions,
    read_calendar,
)
from understudy.store.postgres import redact_url

__all__ = ["CaldavConnector"]

_ETAG = "{DAV:}getetag"
_CALENDAR_TYPE = "{urn:ietf:params:xml:ns:caldav}calendar"
_BATCH = 100
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


class CaldavConnector(Connector):
    """Read events (with attendees and their answers) from a CalDAV server."""

    kind: ClassVar[str] = "caldav"
    item_kinds: ClassVar[tuple[str, ...]] = ("event",)
    description: ClassVar[str] = "A CalDAV server (Radicale, Nextcloud, Fastmail, iCloud…): events"
    location_help: ClassVar[str] = (
        "a calendar or account URL, e.g. https://user:password@dav.example.com/user/calendar/"
    )
    timeout_seconds: ClassVar[int] = 30

    def read(self, cursor: dict[str, Any]) -> Iterator[Reading]:
        """Yield the occurrences of every event that changed on the server since ``cursor``."""
        window = calendar_window(self.source.options)
        known = cursor.get("calendars", {}) if cursor.get("window") == window.key else {}
        state: dict[str, Any] = {"window": window.key, "calendars": dict(known)}
        if not _is_http_url(self.source.location):
            yield Problem(self.public_url, f"not an http(s) URL; give {self.location_help}")
            return
        client: Any = None
        try:
            client = self._client()
            calendars = _calendars(client)
        except Exception as exc:  # any failure of a remote server is a Problem, not a crash
            if client is not None:
                client.close()
            yield Problem(self.public_url, self._reason(exc))
            return
        try:
            for calendar in calendars:
                yield from self._read_calendar(calendar, state, window)
        finally:
            client.close()

    def estimate(self, cursor: dict[str, Any]) -> int | None:
        """Return how many calendar objects changed since ``cursor``, if the server says."""
        window = calendar_window(self.source.options)
        known = cursor.get("calendars", {}) if cursor.get("window") == window.key else {}
        if not _is_http_url(self.source.location):
            return None
        client: Any = None
        try:
            client = self._client()
            total = 0
            for calendar in _calendars(client):
                mark = known.get(_calendar_key(calendar), {})
                listing = calendar.get_objects_by_sync_token(
                    sync_token=mark.get("token"), load_objects=False
                )
                etags = mark.get("etags", {})
                total += sum(1 for o in listing.objects if etags.get(o.url.path) != _etag(o))
        except Exception:  # an estimate never fails a sync
            return None
        finally:
            if client is not None:
                client.close()
        return total

    def observe(self, items: Sequence[Any]) -> list[Decision]:
        """Return the owner's accept / decline / tentative answers to invitations."""
        return observed_decisions(self.source.owner, self.context.owner_emails, items)

    @property
    def public_url(self) -> str:
        """Return the source's URL without its password."""
        return redact_url(self.source.location)

    def _client(self) -> Any:
        from caldav.davclient import DAVClient

        parts = urlsplit(self.source.location)
        options = self.source.options
        username = options.get("username") or (unquote(parts.username) if parts.username else None)
        password = options.get("password") or (unquote(parts.password) if parts.password else None)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        bare = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        client: Any = DAVClient(
            url=bare,
            username=username,
            password=password,
            timeout=int(options.get("timeout", self.timeout_seconds)),
            enable_rfc6764=False,
        )
        return client

    def _read_calendar(
        self, calendar: Any, state: dict[str, Any], window: CalendarWindow
    ) -> Iterator[Reading]:
        key = _calendar_key(calendar)
        mark = dict(state["calendars"].get(key, {}))
        etags: dict[str, str] = dict(mark.get("etags", {}))
        where = redact_url(str(calendar.url))
        try:
            listing = calendar.get_objects_by_sync_token(
                sync_token=mark.get("token"), load_objects=False
            )
            name = _display_name(calendar)
        except Exception as exc:  # any failure of a remote server is a Problem, not a crash
            yield Problem(where, self._reason(exc))
            return
        deleted = {u.path for u in getattr(listing, "deleted_urls", ())}
        changed = []
        for obj in listing.objects:
            path = obj.url.path
            if path in deleted:
                etags.pop(path, None)
            elif etags.get(path) is None or etags.get(path) != _etag(obj):
                changed.append(obj)
        for start in range(0, len(changed), _BATCH):
            batch = changed[start : start + _BATCH]
            yield from self._read_objects(calendar, batch, etags, window, name)
            state["calendars"][key] = {"token": mark.get("token"), "etags": dict(etags)}
            yield Checkpoint(_copy(state))
        # The new token is saved only once every change it covers is stored.
        state["calendars"][key] = {"token": listing.sync_token, "etags": etags}
        yield Checkpoint(_copy(state))

    def _read_objects(
        self,
        calendar: Any,
        objects: list[Any],
        etags: dict[str, str],
        window: CalendarWindow,
        name: str | None,
    ) -> Iterator[Reading]:
        try:
            loaded = _load(calendar, objects)
        except Exception as exc:  # any failure of a remote server is a Problem, not a crash
            yield Problem(redact_url(str(calendar.url)), self._reason(exc))
            return
        for obj in loaded:
            where = redact_url(str(obj.url))
            data = obj.data
            if not data:
                continue
            text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
            yield from read_calendar(text, where, window, self.source.options, name)
            etag = _etag(obj)
            if etag:
                etags[obj.url.path] = etag

    def _reason(self, exc: BaseException) -> str:
        """Return why the server failed, with no password and a next step."""
        text = " ".join(str(exc).split()) or type(exc).__name__
        text = redact_url(text)
        for secret in self._secrets():
            text = text.replace(secret, "***")
        name = type(exc).__name__
        errno = _ERRNO.search(text)
        if "Authorization" in name or "Unauthorized" in text:
            return (
                "the CalDAV server refused the login (401 Unauthorized); check the user "
                "name and password (in the URL or the source's options)"
            )
        if "NotFound" in name:
            return "the CalDAV server has nothing at this URL (404 Not Found); check the URL"
        if isinstance(exc, OSError) or "Connection" in name or "Timeout" in name:
            why = errno.group(1).strip() if errno else name
            return (
                f"cannot reach the CalDAV server ({why}); check that it is running "
                "and that the URL's host and port are right"
            )
        return f"the CalDAV server failed ({name}: {text[:200]}); check the URL or try later"

    def _secrets(self) -> list[str]:
        parts = urlsplit(self.source.location)  # checked by _is_http_url before any request
        found = [str(self.source.options.get("password") or "")]
        if parts.password:
            found.extend([parts.password, unquote(parts.password)])
        return [s for s in found if len(s) >= 3]


def _is_http_url(location: str) -> bool:
    try:
        parts = urlsplit(location)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in location


def _calendars(client: Any) -> list[Any]:
    """Return the calendar at the client's URL, or every calendar of its account."""
    from caldav.elements import dav

    target = client.calendar(url=str(client.url))
    props = target.get_properties([dav.ResourceType()])
    kinds = props.get("{DAV:}resourcetype") or []
    if _CALENDAR_TYPE in (kinds if isinstance(kinds, list) else [kinds]):
        return [target]
    return list(client.principal().calendars())


def _load(calendar: Any, objects: list[Any]) -> list[Any]:
    """Return the objects with their data, in one multiget when the server allows."""
    try:
        return list(calendar.multiget([o.url for o in objects]))
    except Exception:  # some servers refuse multiget; GET each
        for obj in objects:
            obj.load()
        return objects


def _etag(obj: Any) -> str | None:
    props = getattr(obj, "props", None) or {}
    value = props.get(_ETAG)
    return str(value) if value else None


def _calendar_key(calendar: Any) -> str:
    return str(calendar.url.path)


def _display_name(calendar: Any) -> str | None:
    try:
        name = calendar.get_display_name()
    except Exception:  # a calendar without a name is still read
        return None
    return str(name) if name else None


def _copy(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "window": list(state["window"]),
        "calendars": {k: {**v, "etags": dict(v["etags"])} for k, v in state["calendars"].items()},
    }
