"""Org files in TOML, YAML and CSV; malformed ones are named with the record and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from understudy.directory import load_org, read_org_file
from understudy.errors import InputError
from understudy.records import Principal
from understudy.store import Store

TOML = """
[organization]
name = "Acme"

[[people]]
id = "ceo"
name = "Cat Ceo"
title = "CEO"
emails = ["cat@acme.example"]
groups = ["exec"]

[[people]]
id = "dev"
name = "Dan Dev"
manager = "ceo"
emails = ["dan@acme.example"]

[[groups]]
id = "exec"
name = "Executives"

[[projects]]
id = "atlas"
name = "Atlas"
members = ["dev"]
groups = ["exec"]
"""

YAML = """
people:
  - id: ceo
    name: Cat Ceo
    emails: [cat@acme.example]
    groups: [exec]
  - id: dev
    name: Dan Dev
    manager: ceo
groups:
  - id: exec
projects:
  - id: atlas
    members: [dev]
"""

CSV = """id,name,title,emails,manager,groups,projects
ceo,Cat Ceo,CEO,cat@acme.example;c@acme.example,,exec,
dev,Dan Dev,Engineer,dan@acme.example,ceo,eng,atlas
"""


@pytest.mark.parametrize(("suffix", "text"), [(".toml", TOML), (".yaml", YAML), (".csv", CSV)])
def test_org_files_load_into_the_directory(
    store: Store, tmp_path: Path, suffix: str, text: str
) -> None:
    path = tmp_path / f"org{suffix}"
    path.write_text(text)
    counts = load_org(store, read_org_file(path))
    assert counts["people"] == 2
    ceo = store.find_person("cat@acme.example")
    assert (ceo.id, ceo.groups) == ("ceo", ("exec",))
    dev = store.find_person("Dan Dev")
    assert dev.manager == "ceo"
    assert [p.id for p in store.list_projects()] == ["atlas"]
    assert store.list_items(Principal.person("dev")) == []


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("org.toml", "[[people]]\nid = 'x'\n", r"org\.toml: people\[0\]: missing field 'name'"),
        ("org.toml", "people = [", r"org\.toml: not valid TOML"),
        ("org.yaml", "people:\n  - id: a\n   name: b\n", r"org\.yaml: not valid YAML at line"),
        ("org.yaml", "- just a list\n", "must hold a table"),
        (
            "org.toml",
            "[[people]]\nid='a'\nname='A'\nmanager='ghost'\n",
            r"people\[0\] \(a\): manager 'ghost' is not a person",
        ),
        (
            "org.toml",
            "[[people]]\nid='a'\nname='A'\nemails=['not-an-address']\n",
            "email 'not-an-address' is not an address",
        ),
        ("org.csv", "name,title\nA,B\n", "lacks column 'id'"),
        ("org.json", "{}", "unknown org file type '.json'"),
        (
            "org.toml",
            "[[people]]\nid='a'\nname='A'\n[[people]]\nid='a'\nname='B'\n",
            "person id 'a' appears more than once",
        ),
    ],
)
def test_malformed_org_files_name_file_record_and_field(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=message) as caught:
        read_org_file(path)
    assert str(path) in str(caught.value)


def test_an_org_file_in_a_wrong_encoding(tmp_path: Path) -> None:
    path = tmp_path / "org.toml"
    path.write_bytes("[[people]]\nid='a'\nname='Jos\xe9'\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8 text"):
        read_org_file(path)


def test_a_missing_org_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such org file"):
        read_org_file(tmp_path / "nope.toml")
