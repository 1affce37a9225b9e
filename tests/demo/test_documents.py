"""Documents are readable in their formats, and HR's secret stays in HR's folder."""

from __future__ import annotations

from pathlib import Path

import docx
from pypdf import PdfReader

from understudy.demo import DemoManifest


def test_each_project_has_a_brief_status_notes_and_a_page(demo_root: Path) -> None:
    for project in ("atlas", "beacon", "cobalt", "delta", "ember"):
        folder = demo_root / "docs" / project
        assert (folder / "brief.md").read_text(encoding="utf-8").startswith("# ")
        assert len(list((folder / "status").glob("*.md"))) >= 8
        page = next(folder.glob("*.html")).read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>")


def test_exactly_one_pdf_and_its_text_extracts(demo_root: Path) -> None:
    pdfs = sorted((demo_root / "docs").rglob("*.pdf"))
    assert [p.relative_to(demo_root).as_posix() for p in pdfs] == [
        "docs/atlas/architecture-review.pdf"
    ]
    text = "".join(page.extract_text() for page in PdfReader(pdfs[0]).pages)
    assert "Atlas architecture review" in text
    assert "legacy account migration" in text


def test_docx_text_and_author_read_back(demo_root: Path) -> None:
    document = docx.Document(str(demo_root / "docs" / "beacon" / "pricing-proposal.docx"))
    assert document.core_properties.author == "Tom Becker"
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Growth: $48,000 per year" in text


def test_company_docs_hold_the_handbook_and_all_hands_notes(demo_root: Path) -> None:
    company = demo_root / "docs" / "company"
    assert (company / "handbook.md").exists()
    assert list(company.glob("all-hands-*.md"))


def test_hr_phrase_appears_only_in_the_hr_folder(demo_root: Path, manifest: DemoManifest) -> None:
    fact = manifest.fact("hr_private")
    phrase = fact.evidence["phrase"].encode()
    assert phrase in (demo_root / fact.evidence["path"]).read_bytes()
    ingested = [
        p
        for p in demo_root.rglob("*")
        if p.is_file()
        and p.name not in ("manifest.json", "truth.json")
        and "docs/hr" not in p.as_posix()
    ]
    assert [p for p in ingested if phrase in p.read_bytes()] == []


def test_status_notes_report_the_atlas_slip(demo_root: Path, manifest: DemoManifest) -> None:
    files = manifest.fact("slipping_project").evidence["files"]
    assert files
    assert "slips by three weeks" in (demo_root / files[-1]).read_text(encoding="utf-8")
