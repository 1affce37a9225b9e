"""PDF and DOCX files with byte-for-byte reproducible output.

fpdf2 is given a fixed creation date; python-docx is given fixed core
properties, and its zip is rewritten with fixed entry dates, because zip
entries otherwise carry the time they were written.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import docx
from fpdf import FPDF

__all__ = ["docx_bytes", "invoice_pdf", "pdf_bytes", "redline_docx"]

_LATIN = str.maketrans({"—": "-", "–": "-", "’": "'", "“": '"', "”": '"', "…": "...", "→": "->"})


def _latin1(text: str) -> str:
    return text.translate(_LATIN).encode("latin-1", "replace").decode("latin-1")


def pdf_bytes(
    title: str, sections: Sequence[tuple[str, str]], author: str, created: datetime
) -> bytes:
    """Return a PDF with a title and (heading, text) sections, stamped with ``created``."""
    pdf = FPDF(format="Letter")
    pdf.set_creation_date(created.astimezone(UTC))
    pdf.set_title(_latin1(title))
    pdf.set_author(_latin1(author))
    pdf.set_creator("Halcyon Labs")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 9, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for heading, text in sections:
        if heading:
            pdf.set_font("Helvetica", "B", 12)
            pdf.multi_cell(0, 7, _latin1(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10.5)
        pdf.multi_cell(0, 5.5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    return bytes(pdf.output())


def _fixed_zip(data: bytes, stamp: datetime) -> bytes:
    moment = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    source = zipfile.ZipFile(io.BytesIO(data))
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as rewritten:
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=moment)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            rewritten.writestr(info, source.read(entry.filename))
    return target.getvalue()


def docx_bytes(
    title: str, sections: Sequence[tuple[str, str]], author: str, created: datetime
) -> bytes:
    """Return a DOCX with a title and (heading, text) sections, stamped with ``created``."""
    document = docx.Document()
    moment = created.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    properties = document.core_properties
    properties.author = author
    properties.last_modified_by = author
    properties.title = title
    properties.created = moment
    properties.modified = moment
    properties.last_printed = moment
    properties.revision = 1
    document.add_heading(title, level=1)
    for heading, text in sections:
        if heading:
            document.add_heading(heading, level=2)
        for paragraph in text.split("\n\n"):
            document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return _fixed_zip(buffer.getvalue(), created)


def invoice_pdf(organization: str, number: str, amount: str, day: date, zone: ZoneInfo) -> bytes:
    """Return a vendor's invoice as a one-page PDF."""
    created = datetime(day.year, day.month, day.day, 7, 30, tzinfo=zone)
    sections = (
        ("Bill to", "Halcyon Labs\nAccounts Payable\nap@halcyon.example"),
        (
            "Details",
            f"Invoice number: {number}\nInvoice date: {day:%B %d, %Y}\nAmount due: {amount}",
        ),
        ("Terms", "Net 30. Please reference the invoice number with your payment."),
    )
    return pdf_bytes(f"{organization} - Invoice {number}", sections, organization, created)


def redline_docx(vendor: str, created: datetime) -> bytes:
    """Return counsel's redlines on a vendor agreement as a DOCX."""
    sections = (
        (
            "Liability cap",
            f"{vendor} proposes a cap of six months of fees. We propose twelve months.",
        ),
        (
            "Data residency",
            "Customer data stays in the United States unless Halcyon agrees in writing.",
        ),
        ("Termination", "Either party may terminate for convenience with 90 days' notice."),
    )
    return docx_bytes(f"{vendor} MSA - redlines", sections, "Rachel Stein", created)
