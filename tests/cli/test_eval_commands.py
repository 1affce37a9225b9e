"""``understudy eval retrieval`` and ``eval memory`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from understudy.cli import main

PNG = b"\x89PNG\r\n\x1a\n"
WORDS = (
    "walrus volcano saffron glacier trombone cactus lantern origami pelican quartz "
    "meteor harpoon tulip zeppelin mongoose paprika obelisk kayak falcon nebula"
).split()
MEASURES = {"ndcg@10", "recall@10", "recall@100", "mrr@10"}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def flat(text: str) -> str:
    """Return ``text`` without whitespace: tables and messages wrap at the terminal's width."""
    return "".join(text.split())


@pytest.fixture
def beir(tmp_path: Path) -> Path:
    """A 20-document BEIR folder: queries 0-9 judged in train, 10-15 in test."""
    root = tmp_path / "tiny"
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(
        "".join(
            json.dumps({"_id": f"d{n}", "title": w, "text": f"The {w} committee met today."}) + "\n"
            for n, w in enumerate(WORDS)
        )
    )
    (root / "queries.jsonl").write_text(
        "".join(
            json.dumps({"_id": f"q{n}", "text": f"what did the {w} committee decide"}) + "\n"
            for n, w in enumerate(WORDS[:16])
        )
    )
    header = "query-id\tcorpus-id\tscore\n"
    (root / "qrels" / "train.tsv").write_text(
        header + "".join(f"q{n}\td{n}\t1\n" for n in range(10))
    )
    (root / "qrels" / "test.tsv").write_text(
        header + "".join(f"q{n}\td{n}\t1\n" for n in range(10, 16))
    )
    return root


def turns(speakers: tuple[str, str], lines: list[str], session: int) -> list[dict[str, str]]:
    return [
        {"speaker": speakers[n % 2], "dia_id": f"D{session}:{n + 1}", "text": text}
        for n, text in enumerate(lines)
    ]


@pytest.fixture
def locomo(tmp_path: Path) -> Path:
    """Two small LoCoMo conversations with dated sessions and categorized questions."""
    people = ("Ann", "Bo")
    data: list[Any] = [
        {
            "sample_id": "conv-1",
            "conversation": {
                "session_1_date_time": "1:56 pm on 8 May, 2023",
                "session_1": turns(
                    people, ["I bought a red kayak.", "Where?", "At the harbour shop."], 1
                ),
                "session_2_date_time": "9:00 am on 9 May, 2023",
                "session_2": turns(people, ["My sister visits from Lisbon.", "Lovely."], 2),
            },
            "qa": [
                {"question": "What colour is the kayak?", "evidence": ["D1:1"], "category": 4},
                {"question": "Where does the sister live?", "evidence": ["D2:1"], "category": 1},
                {"question": "Who sold it?", "evidence": ["D5:5"], "category": 2},
            ],
        },
        {
            "sample_id": "conv-2",
            "conversation": {
                "session_1_date_time": "2:00 pm on 1 June, 2023",
                "session_1": turns(
                    ("Cy", "Di"), ["We planted tomatoes and basil.", "In the garden?", "Yes."], 1
                ),
            },
            "qa": [
                {"question": "What did they plant?", "evidence": ["D1:1"], "category": 4},
            ],
        },
    ]
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps(data))
    return path


# --- help -------------------------------------------------------------------------


def test_help_describes_both_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "eval", "--help")
    assert code == 0
    assert "retrieval" in out
    assert "memory" in out
    code, out, _ = run(capsys, "eval", "retrieval", "--help")
    assert code == 0
    for option in ("--beir", "--split", "--embedder", "--json", "--out"):
        assert option in out
    code, out, _ = run(capsys, "eval", "memory", "--help")
    assert code == 0
    for option in ("--locomo", "--conversations", "--embedder", "--json", "--out"):
        assert option in out


# --- retrieval --------------------------------------------------------------------


def test_retrieval_json_report_and_plot(
    capsys: pytest.CaptureFixture[str], beir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with (beir / "corpus.jsonl").open("ab") as corpus:
        corpus.write(b'{"_id": "broken", "text": \n{"_id": "latin", "text": "caf\xe9"}\n')
    code, stdout, _ = run(
        capsys,
        "eval",
        "retrieval",
        "--beir",
        str(beir),
        "--embedder",
        "hash",
        "--json",
        "--out",
        str(out),
    )
    assert code == 0
    report = json.loads(stdout)
    assert report["skipped_lines"] == {str(beir / "corpus.jsonl"): 2}
    assert report["n_documents"] == len(WORDS)
    for method in ("keyword", "vector", "hybrid"):
        assert set(report[method]) == MEASURES
    assert report["n_queries"] == 6
    assert report["keyword"]["ndcg@10"] >= 0.9
    assert report["learned_from"] == "qrels/train.tsv (10 queries)"
    written = out / "retrieval-tiny-test.json"
    assert json.loads(written.read_text()) == report
    assert (out / "retrieval-tiny-test.png").read_bytes().startswith(PNG)


def test_retrieval_table_on_the_train_split_without_vectors(
    capsys: pytest.CaptureFixture[str], beir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, stdout, _ = run(
        capsys,
        "eval",
        "retrieval",
        "--beir",
        str(beir),
        "--split",
        "train",
        "--embedder",
        "none",
        "--out",
        str(out),
    )
    assert code == 0
    assert "trainsplit,10queries" in flat(stdout)
    assert "fusion(hybrid)" in flat(stdout)
    assert flat(f"JSON written to {out / 'retrieval-tiny-train.json'}") in flat(stdout)
    report = json.loads((out / "retrieval-tiny-train.json").read_text())
    assert report["vector"] == dict.fromkeys(MEASURES, 0.0)
    assert report["learned_from"] is None
    assert (out / "retrieval-tiny-train.png").is_file()


def test_retrieval_says_when_the_training_judgments_taught_nothing(
    capsys: pytest.CaptureFixture[str], beir: Path, tmp_path: Path
) -> None:
    (beir / "qrels" / "train.tsv").write_text("q0\tnot-in-the-corpus\t1\n")
    code, stdout, _ = run(
        capsys,
        "eval",
        "retrieval",
        "--beir",
        str(beir),
        "--embedder",
        "hash",
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 0
    assert flat(f"no ranker learned: {beir / 'qrels' / 'train.tsv'}: nothing learned") in flat(
        stdout
    )
    assert "fusion(hybrid)" in flat(stdout)


def test_retrieval_keeps_its_store_in_an_empty_home_only(
    capsys: pytest.CaptureFixture[str], beir: Path, tmp_path: Path
) -> None:
    kept = tmp_path / "kept"
    args = ("eval", "retrieval", "--beir", str(beir), "--embedder", "none", "--json")
    code, _, _ = run(capsys, *args, "--home", str(kept), "--out", str(tmp_path / "out"))
    assert code == 0
    assert (kept / "understudy.db").is_file()
    code, stdout, err = run(capsys, *args, "--home", str(kept), "--out", str(tmp_path / "out"))
    assert code == 2
    assert stdout == ""
    assert flat(f"{kept}: already holds a store") in flat(err)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda root: (root / "corpus.jsonl").unlink(), "corpus.jsonl: missing"),
        (lambda root: (root / "queries.jsonl").unlink(), "queries.jsonl: missing"),
        (lambda root: (root / "qrels" / "test.tsv").unlink(), "test.tsv: missing"),
        (
            lambda root: (root / "qrels" / "test.tsv").write_text("q10\td10\t1\nq11 d11\n"),
            "test.tsv:2: expected 'query-id<TAB>corpus-id<TAB>score'",
        ),
        (
            lambda root: (root / "qrels" / "test.tsv").write_bytes(b"q10\td10\t1\n\xff\n"),
            "test.tsv:2: not UTF-8",
        ),
    ],
)
def test_retrieval_names_the_bad_file(
    capsys: pytest.CaptureFixture[str], beir: Path, tmp_path: Path, damage: Any, message: str
) -> None:
    damage(beir)
    code, stdout, err = run(
        capsys,
        "eval",
        "retrieval",
        "--beir",
        str(beir),
        "--embedder",
        "hash",
        "--json",
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 2  # an input error
    assert stdout == ""
    assert "Error:" in err
    assert flat(message) in flat(err)
    assert flat(str(beir)) in flat(err)
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_retrieval_names_a_missing_folder_and_an_unknown_embedder(
    capsys: pytest.CaptureFixture[str], beir: Path, tmp_path: Path
) -> None:
    code, _, err = run(capsys, "eval", "retrieval", "--beir", str(tmp_path / "nowhere"))
    assert code == 2
    assert "nowhere:nosuchcollectionfolder" in flat(err)
    code, _, err = run(capsys, "eval", "retrieval", "--beir", str(beir), "--embedder", "bogus")
    assert code == 2
    assert "unknownembeddingmodel'bogus'" in flat(err)


# --- memory -----------------------------------------------------------------------


def test_memory_json_report_and_plot(
    capsys: pytest.CaptureFixture[str], locomo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, stdout, _ = run(
        capsys,
        "eval",
        "memory",
        "--locomo",
        str(locomo),
        "--embedder",
        "hash",
        "--json",
        "--out",
        str(out),
    )
    assert code == 0
    report = json.loads(stdout)
    assert {"recall@5", "recall@10", "n_questions"} <= set(report)
    assert report["n_questions"] == 3
    assert report["dropped_evidence"] == 1
    assert report["method"] == "ranker"
    assert 0.0 <= report["recall@5"] <= report["recall@10"] <= 1.0
    assert json.loads((out / "memory-locomo.json").read_text()) == report
    assert (out / "memory-locomo.png").read_bytes().startswith(PNG)


def test_memory_table_for_chosen_conversations(
    capsys: pytest.CaptureFixture[str], locomo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, stdout, _ = run(
        capsys,
        "eval",
        "memory",
        "--locomo",
        str(locomo),
        "--conversations",
        "0",
        "--embedder",
        "hash",
        "--out",
        str(out),
    )
    assert code == 0
    assert "2questionswithevidence" in flat(stdout)
    assert "fusion(reported)" in flat(stdout)
    assert "single-hop@10" in flat(stdout)
    report = json.loads((out / "memory-locomo.json").read_text())
    assert report["n_conversations"] == 1
    code, stdout, _ = run(
        capsys,
        "eval",
        "memory",
        "--locomo",
        str(locomo),
        "--conversations",
        "0-1",
        "--embedder",
        "hash",
        "--json",
        "--out",
        str(out),
    )
    assert code == 0
    assert json.loads(stdout)["n_conversations"] == 2


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("not json at all", (), "not valid JSON"),
        ('{"conversation": {}}', (), "expected a list of conversations"),
        ('[{"conversation": {}, "qa": []}]', (), "conversation 0: no sessions"),
        (None, ("--conversations", "7"), "no conversation 7; it holds 0 to 1"),
        (None, ("--conversations", "3-1"), "no conversation chosen"),
    ],
)
def test_memory_names_the_bad_file(
    capsys: pytest.CaptureFixture[str],
    locomo: Path,
    tmp_path: Path,
    content: str | None,
    extra: tuple[str, ...],
    message: str,
) -> None:
    if content is not None:
        locomo.write_text(content)
    code, stdout, err = run(
        capsys,
        "eval",
        "memory",
        "--locomo",
        str(locomo),
        "--embedder",
        "hash",
        "--json",
        "--out",
        str(tmp_path / "out"),
        *extra,
    )
    assert code == 2
    assert stdout == ""
    assert flat(f"{locomo}: {message}") in flat(err)
    assert "Traceback" not in err


def test_memory_rejects_a_bad_conversation_list(
    capsys: pytest.CaptureFixture[str], locomo: Path
) -> None:
    code, _, err = run(capsys, "eval", "memory", "--locomo", str(locomo), "--conversations", "a")
    assert code == 2
    assert flat("--conversations 'a': write numbers and ranges, such as 0,1 or 5-9") in flat(err)
    code, _, err = run(capsys, "eval", "memory", "--locomo", str(locomo.with_name("gone.json")))
    assert code == 2
    assert flat(f"{locomo.with_name('gone.json')}: cannot read it") in flat(err)


def test_retrieval_runs_on_postgresql_in_a_schema_it_drops(
    capsys: pytest.CaptureFixture[str], beir: Path, tmp_path: Path, postgres_database: str
) -> None:
    import psycopg

    def schemas() -> set[str]:
        with psycopg.connect(postgres_database) as conn:
            rows = conn.execute("SELECT nspname FROM pg_namespace").fetchall()
        return {str(row[0]) for row in rows if str(row[0]).startswith("understudy_eval_")}

    before = schemas()
    code, out, err = run(
        capsys, "eval", "retrieval", "--beir", str(beir), "--embedder", "none",
        "--database-url", postgres_database, "--out", str(tmp_path / "out"), "--json",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["n_queries"] == 6
    assert report["keyword"]["ndcg@10"] == 1.0  # each query names its document's one word
    assert schemas() == before


def test_retrieval_on_an_unreachable_database_says_so(
    capsys: pytest.CaptureFixture[str], beir: Path, tmp_path: Path
) -> None:
    url = "postgresql://nobody:secret@127.0.0.1:1/none"
    code, _, err = run(
        capsys, "eval", "retrieval", "--beir", str(beir), "--database-url", url,
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert code != 0
    assert "--database-url" in flat(err)
    assert "cannotcreateaschema" in flat(err)
    assert "secret" not in err
