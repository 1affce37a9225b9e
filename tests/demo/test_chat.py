"""The chat export has Slack's layout, threads and mentions, and the zip matches it."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from understudy.demo import DemoManifest


def load(path: Path) -> Any:
    """Read one JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


def test_users_channels_and_groups(demo_root: Path, manifest: DemoManifest) -> None:
    slack = demo_root / "chat" / "slack"
    users = load(slack / "users.json")
    assert len(users) == manifest.counts["people"]
    assert all(u["id"].startswith("U01") and "@" in u["profile"]["email"] for u in users)
    channels = {c["name"]: c for c in load(slack / "channels.json")}
    assert {"general", "random", "atlas", "beacon"} <= set(channels)
    groups = {g["name"]: g for g in load(slack / "groups.json")}
    assert {"exec-team", "hr-private"} <= set(groups)
    ids = {u["id"] for u in users}
    assert all(set(c["members"]) <= ids for c in [*channels.values(), *groups.values()])


def test_day_files_hold_valid_messages_with_threads_mentions_and_edits(demo_root: Path) -> None:
    slack = demo_root / "chat" / "slack"
    ids = {u["id"] for u in load(slack / "users.json")}
    messages = []
    for path in sorted(slack.glob("*/*.json")):
        day = load(path)
        assert isinstance(day, list)
        assert path.stem.count("-") == 2
        messages += day
    assert all(m["type"] == "message" and m["user"] in ids and m["ts"] for m in messages)
    parents = [m for m in messages if m.get("reply_count")]
    assert parents
    assert all(p["thread_ts"] == p["ts"] and len(p["replies"]) == p["reply_count"] for p in parents)
    replies = [m for m in messages if m.get("thread_ts") and m["thread_ts"] != m["ts"]]
    assert {r["thread_ts"] for r in replies} <= {p["ts"] for p in parents}
    assert any("<@U01" in m["text"] for m in messages)
    assert any("edited" in m for m in messages)


def test_atlas_channel_discusses_the_slip(demo_root: Path) -> None:
    texts = [
        m["text"] for p in (demo_root / "chat" / "slack" / "atlas").glob("*.json") for m in load(p)
    ]
    assert any("slips three weeks" in t for t in texts)


def test_zip_holds_the_same_files_as_the_folder(demo_root: Path) -> None:
    slack = demo_root / "chat" / "slack"
    folder = {str(p.relative_to(slack)): p.read_bytes() for p in slack.rglob("*") if p.is_file()}
    with zipfile.ZipFile(demo_root / "chat" / "slack-export.zip") as archive:
        zipped = {name: archive.read(name) for name in archive.namelist()}
    assert zipped == folder
