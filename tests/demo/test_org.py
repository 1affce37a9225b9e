"""The org file parses with the project's reader and describes a three-level company."""

from __future__ import annotations

from pathlib import Path

from understudy.demo import DemoManifest
from understudy.directory import read_org_file


def test_org_file_parses_with_twenty_people_in_three_levels(
    demo_root: Path, manifest: DemoManifest
) -> None:
    org = read_org_file(demo_root / "org.toml")
    assert org.name == "Halcyon Labs"
    assert 18 <= len(org.people) <= 22
    people = {p.id: p for p in org.people}
    ceo = people[manifest.ceo]
    assert ceo.manager is None
    execs = [p for p in org.people if p.manager == ceo.id]
    assert len(execs) == 5
    staff = [p for p in org.people if p not in execs and p is not ceo]
    assert staff
    assert all(people[p.manager or ""].manager == ceo.id for p in staff)
    assert all(p.emails[0].endswith("@halcyon.example") for p in org.people)


def test_groups_and_projects_are_declared(demo_root: Path) -> None:
    org = read_org_file(demo_root / "org.toml")
    groups = {g.id: g for g in org.groups}
    assert {"exec", "engineering", "sales", "finance", "hr", "ops", "product"} <= set(groups)
    assert groups["exec"].parents == ("leadership",)
    projects = {p.id: p for p in org.projects}
    assert {"atlas", "beacon", "cobalt", "delta", "ember"} <= set(projects)
    assert "engineering" in projects["atlas"].groups
    assert projects["atlas"].description


def test_only_internal_people_are_in_the_org_file(demo_root: Path) -> None:
    text = (demo_root / "org.toml").read_text(encoding="utf-8")
    assert "vancecapital" not in text
