"""Decisions, predictions, actions and the append-only audit log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from understudy.errors import NotFound
from understudy.records import Action, AuditEvent, Decision, Prediction
from understudy.store.database import Database, from_json, now_utc, parse_time

__all__ = ["HistoryTables"]


class HistoryTables:
    """Store methods for what people decided and what understudies did."""

    db: Database

    def _item_identities(self, item_ids: Sequence[int]) -> dict[int, str]:
        wanted = list(dict.fromkeys(item_ids))
        found: dict[int, str] = {}
        for start in range(0, len(wanted), 500):
            names = {f"i{n}": v for n, v in enumerate(wanted[start : start + 500])}
            marks = ", ".join(f":{k}" for k in names)
            rows = self.db.rows(
                f"SELECT id, source_id, external_id FROM items WHERE id IN ({marks})", names
            )
            found.update({int(r["id"]): f"{r['source_id']}/{r['external_id']}" for r in rows})
        return found

    def add_decisions(self, decisions: Sequence[Decision]) -> int:
        """Record decisions; an observed decision seen before is not added again.

        An observed decision is identified by the thing it is about (source and
        external id), not by the item version, so a new version of a task does
        not record the same approval twice.
        """
        identities = self._item_identities([d.item_id for d in decisions if d.origin == "observed"])

        def key(d: Decision) -> str:
            if d.origin != "observed" or d.item_id not in identities:
                return d.key
            return f"observed:{d.person}:{identities[d.item_id]}:{d.action}:{d.target or ''}"

        rows = [
            {
                "key": key(d),
                "person": d.person,
                "item": d.item_id,
                "action": d.action,
                "target": d.target,
                "latency": d.latency_seconds,
                "at": d.at,
                "text": d.text,
                "origin": d.origin,
            }
            for d in decisions
        ]
        with self.db.transaction():
            before = int(self.db.scalar("SELECT count(*) AS n FROM decisions"))
            self.db.executemany(
                """INSERT INTO decisions (key, person_id, item_id, action, target,
                latency_seconds, at, text, origin) VALUES (:key, :person, :item, :action,
                :target, :latency, :at, :text, :origin) ON CONFLICT (key) DO NOTHING""",
                rows,
            )
            after = int(self.db.scalar("SELECT count(*) AS n FROM decisions"))
        return after - before

    def list_decisions(
        self,
        person: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        actions: Sequence[str] = (),
        item_id: int | None = None,
        project: str | None = None,
    ) -> list[Decision]:
        """Return decisions, oldest first, filtered by person, time, action, item or project.

        ``project`` keeps decisions made on any version of the project's items.
        """
        parts = ["1 = 1"]
        params: dict[str, Any] = {}
        if person is not None:
            parts.append("person_id = :person")
            params["person"] = person
        if since is not None:
            parts.append("at >= :since")
            params["since"] = since
        if until is not None:
            parts.append("at < :until")
            params["until"] = until
        if item_id is not None:
            parts.append("item_id = :item")
            params["item"] = item_id
        if project is not None:
            parts.append("item_id IN (SELECT id FROM items WHERE project = :project)")
            params["project"] = project
        if actions:
            names = {f"a{n}": a for n, a in enumerate(actions)}
            parts.append(f"action IN ({', '.join(':' + k for k in names)})")
            params.update(names)
        rows = self.db.rows(
            f"SELECT * FROM decisions WHERE {' AND '.join(parts)} ORDER BY at, id",
            params,
        )
        return [_decision(row) for row in rows]

    def count_decisions(self, person: str | None = None) -> dict[str, int]:
        """Return how many decisions of each action are recorded."""
        where = "WHERE person_id = :person" if person else ""
        rows = self.db.rows(
            f"SELECT action, count(*) AS n FROM decisions {where} GROUP BY action ORDER BY action",
            {"person": person} if person else {},
        )
        return {row["action"]: int(row["n"]) for row in rows}

    def add_prediction(self, prediction: Prediction) -> Prediction:
        """Store a prediction and return it with its id."""
        row = self.db.row(
            """INSERT INTO predictions (person_id, item_id, distribution, confidence,
            explanation, neighbours, draft, created_at) VALUES (:person, :item, :dist, :conf,
            :expl, :near, :draft, :at) RETURNING id""",
            {
                "person": prediction.person,
                "item": prediction.item_id,
                "dist": dict(prediction.distribution),
                "conf": prediction.confidence,
                "expl": list(prediction.explanation),
                "near": list(prediction.neighbours),
                "draft": prediction.draft,
                "at": prediction.created_at,
            },
        )
        return replace(prediction, id=int(row["id"]) if row else None)

    def latest_prediction(self, person: str, item_id: int) -> Prediction | None:
        """Return the newest prediction for a person and item, or None."""
        row = self.db.row(
            """SELECT * FROM predictions WHERE person_id = :p AND item_id = :i
            ORDER BY id DESC LIMIT 1""",
            {"p": person, "i": item_id},
        )
        if row is None:
            return None
        return Prediction(
            person=row["person_id"],
            item_id=int(row["item_id"]),
            distribution=from_json(row["distribution"]),
            confidence=float(row["confidence"]),
            explanation=tuple(from_json(row["explanation"])),
            neighbours=tuple(from_json(row["neighbours"])),
            draft=row["draft"],
            created_at=parse_time(row["created_at"]) or now_utc(),
            id=int(row["id"]),
        )

    def add_action(self, action: Action) -> Action:
        """Store a proposed action and return it with its id."""
        row = self.db.row(
            """INSERT INTO actions (owner, kind, payload, requested_by, state, approved_by,
            result, created_at, updated_at) VALUES (:owner, :kind, :payload, :by, :state,
            :approved_by, :result, :created, :updated) RETURNING id""",
            {
                "owner": action.owner,
                "kind": action.kind,
                "payload": dict(action.payload),
                "by": action.requested_by,
                "state": action.state,
                "approved_by": action.approved_by,
                "result": action.result,
                "created": action.created_at,
                "updated": action.updated_at,
            },
        )
        return replace(action, id=int(row["id"]) if row else None)

    def update_action(
        self,
        action_id: int,
        state: str,
        approved_by: str | None = None,
        result: str = "",
        payload: dict[str, Any] | None = None,
    ) -> Action:
        """Move an action to a new state and return it."""
        current = self.get_action(action_id)
        self.db.execute(
            """UPDATE actions SET state = :state, approved_by = :by, result = :result,
            payload = :payload, updated_at = :now WHERE id = :id""",
            {
                "state": state,
                "by": approved_by or current.approved_by,
                "result": result,
                "payload": payload if payload is not None else dict(current.payload),
                "now": now_utc(),
                "id": action_id,
            },
        )
        return self.get_action(action_id)

    def claim_action(self, action_id: int, state: str, by: str) -> bool:
        """Move a proposed action to ``state`` unless someone else already decided it."""
        with self.db.transaction():
            found = self.db.scalar("SELECT state FROM actions WHERE id = :id", {"id": action_id})
            if found != "proposed":
                return False
            self.db.execute(
                """UPDATE actions SET state = :state, approved_by = :by, updated_at = :now
                WHERE id = :id AND state = 'proposed'""",
                {"state": state, "by": by, "now": now_utc(), "id": action_id},
            )
        return True

    def get_action(self, action_id: int) -> Action:
        """Return one action by id."""
        row = self.db.row("SELECT * FROM actions WHERE id = :id", {"id": action_id})
        if row is None:
            raise NotFound(f"no action {action_id}; run 'understudy approvals' to see the queue")
        return _action(row)

    def list_actions(
        self,
        owner: str | None = None,
        state: str | None = None,
        requested_by: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
    ) -> list[Action]:
        """Return actions, newest first, for an owner, in a state, asked by someone, of a kind."""
        parts: list[str] = ["1 = 1"]
        params: dict[str, str | int] = {}
        for column, value in (
            ("owner", owner),
            ("state", state),
            ("requested_by", requested_by),
            ("kind", kind),
        ):
            if value is not None:
                parts.append(f"{column} = :{column}")
                params[column] = value
        if limit is not None:
            params["limit"] = limit
        rows = self.db.rows(
            f"SELECT * FROM actions WHERE {' AND '.join(parts)} ORDER BY id DESC"
            + (" LIMIT :limit" if limit is not None else ""),
            params,
        )
        return [_action(row) for row in rows]

    def append_audit(self, event: AuditEvent) -> AuditEvent:
        """Append one event to the audit log; the log cannot be changed afterwards."""
        row = self.db.row(
            """INSERT INTO audit_events (at, actor, on_behalf_of, event, request, items_read,
            disclosed_to, detail) VALUES (:at, :actor, :behalf, :event, :request, :items,
            :to, :detail) RETURNING id""",
            _audit_row(event),
        )
        return replace(event, id=int(row["id"]) if row else None)

    def append_audits(self, events: Sequence[AuditEvent]) -> None:
        """Append several events to the audit log in one transaction (one commit)."""
        if not events:
            return
        with self.db.transaction():
            self.db.executemany(
                """INSERT INTO audit_events (at, actor, on_behalf_of, event, request, items_read,
                disclosed_to, detail) VALUES (:at, :actor, :behalf, :event, :request, :items,
                :to, :detail)""",
                [_audit_row(event) for event in events],
            )

    def list_audit(self, person: str | None = None, limit: int = 100) -> list[AuditEvent]:
        """Return the newest audit events where ``person`` acted or was acted for."""
        where = "WHERE actor = :p OR on_behalf_of = :p OR disclosed_to = :p" if person else ""
        rows = self.db.rows(
            f"SELECT * FROM audit_events {where} ORDER BY id DESC LIMIT :n",
            {"p": person, "n": limit} if person else {"n": limit},
        )
        return [
            AuditEvent(
                actor=row["actor"],
                event=row["event"],
                on_behalf_of=row["on_behalf_of"],
                request=row["request"],
                items_read=tuple(from_json(row["items_read"])),
                disclosed_to=row["disclosed_to"],
                detail=from_json(row["detail"]),
                at=parse_time(row["at"]) or now_utc(),
                id=int(row["id"]),
            )
            for row in rows
        ]


def _audit_row(event: AuditEvent) -> dict[str, Any]:
    return {
        "at": event.at,
        "actor": event.actor,
        "behalf": event.on_behalf_of,
        "event": event.event,
        "request": event.request,
        "items": list(event.items_read),
        "to": event.disclosed_to,
        "detail": dict(event.detail),
    }


def _decision(row: dict[str, Any]) -> Decision:
    return Decision(
        person=row["person_id"],
        item_id=int(row["item_id"]),
        action=row["action"],
        at=parse_time(row["at"]) or now_utc(),
        target=row["target"],
        latency_seconds=row["latency_seconds"],
        text=row["text"],
        origin=row["origin"],
        id=int(row["id"]),
    )


def _action(row: dict[str, Any]) -> Action:
    return Action(
        owner=row["owner"],
        kind=row["kind"],
        payload=from_json(row["payload"]),
        requested_by=row["requested_by"],
        state=row["state"],
        approved_by=row["approved_by"],
        result=row["result"],
        created_at=parse_time(row["created_at"]) or now_utc(),
        updated_at=parse_time(row["updated_at"]) or now_utc(),
        id=int(row["id"]),
    )
