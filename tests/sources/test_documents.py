"""Text extraction by file type: what each format gives, and bad files that never crash."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from understudy.sources.documents import (
    MAX_TEXT_CHARS,
    content_type_for,
    decode_text,
    extract_text,
)


def pdf_bytes(title: str = "Quarterly plan", author: str = "Dana Smith", pages: int = 2) -> bytes:
    """Return a small PDF with a title, an author and one line per page."""
    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_font("Helvetica", size=12)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.cell(text=f"Page {number}: revenue grew in the north region.")
    return bytes(pdf.output())


def encrypted(data: bytes, user_password: str, owner_password: str = "owner") -> bytes:
    """Return ``data`` (a PDF) encrypted with pypdf's writer."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password, owner_password=owner_password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(title: str = "Atlas plan", author: str = "maya@co.example") -> bytes:
    """Return a DOCX with core properties, a heading, a paragraph and a table."""
    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = author
    document.add_heading("Goals", level=1)
    document.add_paragraph("Ship the pilot to three customers.")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Owner"
    table.cell(0, 1).text = "Bo Park"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_markdown_title_is_the_first_level_one_heading_outside_code() -> None:
    text = "Intro line\n```\n# not a heading\n```\n## Background\n# Launch plan\nBody\n### Risks\n"
    found = extract_text(text.encode(), "plan.md")
    assert found.title == "Launch plan"
    assert found.sections == ("Background", "Launch plan", "Risks")
    assert "Body" in found.text


def test_markdown_front_matter_title_wins() -> None:
    found = extract_text(b"---\ntitle: 'Offsite agenda'\n---\n# Day one\n", "a.md")
    assert found.title == "Offsite agenda"


def test_html_text_leaves_out_scripts_and_styles() -> None:
    page = (
        b"<html><head><title>Pricing FAQ</title><meta name='author' content='Bo Park'>"
        b"<style>.x{color:red}</style><script>steal()</script></head>"
        b"<body><h1>Prices</h1><p>Plans start at &euro;10.</p><noscript>enable js</noscript>"
        b"<h2>Discounts</h2><p>Ask sales.</p></body></html>"
    )
    found = extract_text(page, "faq.html")
    assert found.title == "Pricing FAQ"
    assert found.author == "Bo Park"
    assert found.sections == ("Prices", "Discounts")
    assert "Plans start at €10." in found.text
    for hidden in ("steal", "color:red", "enable js"):
        assert hidden not in found.text


def test_html_without_title_takes_its_first_h1() -> None:
    assert extract_text(b"<h2>Minor</h2><h1>Main</h1>", "x.htm").title == "Main"


def test_pdf_text_title_and_author() -> None:
    found = extract_text(pdf_bytes(), "q3.pdf")
    assert found.error is None
    assert found.title == "Quarterly plan"
    assert found.author == "Dana Smith"
    assert "Page 2: revenue grew" in found.text


def test_pdf_encrypted_with_a_password_is_an_error_not_a_crash() -> None:
    found = extract_text(encrypted(pdf_bytes(), "secret"), "locked.pdf")
    assert found.error is not None
    assert "encrypted" in found.error
    assert found.text == ""


def test_pdf_encrypted_with_an_empty_password_is_read() -> None:
    found = extract_text(encrypted(pdf_bytes(), ""), "owner-only.pdf")
    assert found.error is None
    assert "revenue grew" in found.text


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7\n garbage", bytes(range(256)) * 40])
def test_pdf_that_is_not_one_reports_why(data: bytes) -> None:
    found = extract_text(data, "broken.pdf")
    assert found.error is not None
    assert found.error.startswith("cannot read PDF")


def test_docx_text_tables_title_and_author() -> None:
    found = extract_text(docx_bytes(), "plan.docx")
    assert found.error is None
    assert found.title == "Atlas plan"
    assert found.author == "maya@co.example"
    assert found.sections == ("Goals",)
    assert "Ship the pilot" in found.text
    assert "Owner\tBo Park" in found.text


def test_truncated_docx_is_reported_as_damaged() -> None:
    data = docx_bytes()
    found = extract_text(data[: len(data) // 2], "half.docx")
    assert found.error == "cannot read DOCX: damaged or truncated (not a valid zip archive)"


def test_pptx_slides_titles_and_notes() -> None:
    pptx = pytest.importorskip("pptx")
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Roadmap"
    slide.placeholders[1].text = "Q3: launch in Lisbon"
    slide.notes_slide.notes_text_frame.text = "Mention the hiring plan"
    deck.core_properties.title = "Board deck"
    out = io.BytesIO()
    deck.save(out)
    found = extract_text(out.getvalue(), "board.pptx")
    assert found.title == "Board deck"
    assert found.sections == ("Roadmap",)
    assert found.text.count("Roadmap") == 1
    assert "Q3: launch in Lisbon" in found.text
    assert "Notes: Mention the hiring plan" in found.text


def test_xlsx_sheets_become_sections_and_rows_text() -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Budget"
    sheet.append(["region", "amount"])
    sheet.append(["North", 12.5])
    book.create_sheet("Notes").append(["Approved by the board"])
    book.properties.title = "Budget 2026"
    out = io.BytesIO()
    book.save(out)
    found = extract_text(out.getvalue(), "budget.xlsx")
    assert found.title == "Budget 2026"
    assert found.sections == ("Budget", "Notes")
    assert "North\t12.5" in found.text
    assert "Approved by the board" in found.text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("café au lait".encode("latin-1"), "café au lait"),
        ("naïve – “quoted”".encode("cp1252"), "naïve – “quoted”"),
        ("Grüße".encode("utf-16"), "Grüße"),
        ("Grüße aus Köln".encode("utf-16-le"), "Grüße aus Köln"),
        ("Grüße aus Köln".encode("utf-16-be"), "Grüße aus Köln"),
        ("\ufeffbom first".encode(), "bom first"),
        ("plain ascii".encode("utf-32"), "plain ascii"),
    ],
)
def test_text_in_any_common_encoding_decodes(data: bytes, expected: str) -> None:
    assert decode_text(data) == expected


def test_undefined_cp1252_bytes_become_replacement_characters() -> None:
    assert decode_text(b"a\x81b\xff") == "a\ufffdbÿ"


def test_huge_text_is_capped_and_says_so() -> None:
    found = extract_text(b"x" * (MAX_TEXT_CHARS + 10), "huge.txt")
    assert len(found.text) == MAX_TEXT_CHARS
    assert found.truncated
    assert found.original_chars == MAX_TEXT_CHARS + 10


def test_unsupported_type_and_missing_file_are_errors(tmp_path: Path) -> None:
    assert extract_text(b"\x89PNG", "photo.png").error == "unsupported file type image/png"
    missing = extract_text(tmp_path / "gone.md")
    assert missing.error is not None
    assert missing.error.startswith("cannot read")


def test_content_type_prefers_a_specific_given_type() -> None:
    assert content_type_for("notes.bin", "text/markdown; charset=utf-8") == "text/markdown"
    assert content_type_for("report.pdf", "application/octet-stream") == "application/pdf"


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2048))
def test_decode_text_never_fails(data: bytes) -> None:
    assert isinstance(decode_text(data), str)


@settings(max_examples=40, deadline=None)
@given(
    st.binary(max_size=1024),
    st.sampled_from(["a.pdf", "a.docx", "a.pptx", "a.xlsx", "a.html", "a.md", "a.txt"]),
)
def test_extract_text_never_raises_on_garbage(data: bytes, name: str) -> None:
    found = extract_text(data, name)
    assert found.error is not None or isinstance(found.text, str)
