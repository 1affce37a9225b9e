"""Text extraction by file type, for document folders and mail attachments.

``extract_text`` takes a path or the bytes of a file and returns its text,
title, author and section headings. It never raises for bad content: a
corrupt, encrypted, truncated or unsupported file comes back with ``error``
set to a reason a person can act on. Text is capped (``MAX_TEXT_CHARS``) and
the cap is noted in ``truncated``, so one huge file cannot swamp the store.

Supported: Markdown, plain text (UTF-8, UTF-16/32 with a BOM, else cp1252),
HTML (without scripts and styles), PDF (pypdf), DOCX (python-docx), and PPTX
and XLSX when python-pptx and openpyxl are installed.
"""

from __future__ import annotations

import importlib
import io
import mimetypes
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "DOCUMENT_TYPES",
    "MAX_FILE_BYTES",
    "MAX_PDF_PAGES",
    "MAX_TEXT_CHARS",
    "ExtractedText",
    "content_type_for",
    "decode_text",
    "extract_text",
    "too_large",
]

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_TEXT_CHARS = 1_000_000
MAX_PDF_PAGES = 500
MAX_SHEET_ROWS = 5_000
# Office files are zip archives; a small file that inflates beyond this is a zip bomb.
MAX_UNZIPPED_BYTES = 500 * 1024 * 1024

MARKDOWN = "text/markdown"
PLAIN = "text/plain"
HTML = "text/html"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

DOCUMENT_TYPES: dict[str, str] = {
    ".md": MARKDOWN,
    ".markdown": MARKDOWN,
    ".txt": PLAIN,
    ".text": PLAIN,
    ".rst": PLAIN,
    ".html": HTML,
    ".htm": HTML,
    ".pdf": PDF,
    ".docx": DOCX,
    ".pptx": PPTX,
    ".xlsx": XLSX,
}


@dataclass(frozen=True, slots=True)
class ExtractedText:
    """The text of one file, what it says about itself, and what went wrong."""

    text: str = ""
    title: str = ""
    author: str = ""
    error: str | None = None
    sections: tuple[str, ...] = ()
    content_type: str = ""
    truncated: bool = False
    original_chars: int = 0
    notes: tuple[str, ...] = ()


def content_type_for(name: str, content_type: str = "") -> str:
    """Return the content type to extract ``name`` as; a specific given type wins."""
    given = content_type.split(";")[0].strip().lower()
    if given and given not in ("application/octet-stream", "binary/octet-stream"):
        return given
    suffix = Path(name).suffix.lower()
    if suffix in DOCUMENT_TYPES:
        return DOCUMENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(name)
    return guessed or given or "application/octet-stream"


def decode_text(data: bytes) -> str:
    """Decode text whatever its encoding: BOM, then UTF-8, then UTF-16 sniffing, then cp1252."""
    boms = (
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    )
    for bom, encoding in boms:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    sniffed = _utf16_without_bom(data)
    if sniffed:
        return data.decode(sniffed, errors="replace")
    # cp1252 is what Windows tools write when they do not say; latin-1 text decodes
    # the same for every letter, and undefined bytes become U+FFFD instead of failing.
    return data.decode("cp1252", errors="replace")


def _utf16_without_bom(data: bytes) -> str | None:
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even_zeros = sample[0::2].count(0) / max(1, len(sample[0::2]))
    odd_zeros = sample[1::2].count(0) / max(1, len(sample[1::2]))
    if odd_zeros > 0.4 and even_zeros < 0.05:
        return "utf-16-le"
    if even_zeros > 0.4 and odd_zeros < 0.05:
        return "utf-16-be"
    return None


def extract_text(
    source: Path | str | bytes, name: str = "", content_type: str = ""
) -> ExtractedText:
    """Return the text, title, author and sections of a file, or the reason it has none."""
    label = name or (Path(source).name if not isinstance(source, bytes) else "attachment")
    kind = content_type_for(label, content_type)
    extractor = _EXTRACTORS.get(kind)
    if extractor is None:
        if not kind.startswith("text/"):
            return ExtractedText(content_type=kind, error=f"unsupported file type {kind}")
        extractor = _plain
    try:
        size = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
        if size > MAX_FILE_BYTES:
            return ExtractedText(content_type=kind, error=too_large(size))
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as exc:
        return ExtractedText(content_type=kind, error=f"cannot read: {exc.strerror or exc}")
    try:
        found = extractor(data)
    except Exception as exc:  # parsers of untrusted files raise anything
        found = ExtractedText(error=f"cannot read {_kind_name(kind)}: {_reason(exc)}")
    return _capped(replace(found, content_type=kind, text=_clean(found.text)))


def too_large(size: int, limit: int = MAX_FILE_BYTES) -> str:
    """Return the reason given for a file over the size limit."""
    return f"too large ({size:,} bytes; the limit is {limit:,}); split it or move it out"


def _kind_name(kind: str) -> str:
    names = {PDF: "PDF", DOCX: "DOCX", PPTX: "PPTX", XLSX: "XLSX", HTML: "HTML"}
    return names.get(kind, "file")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, zipfile.BadZipFile):
        return "damaged or truncated (not a valid zip archive)"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text[:200]}" if text else name


def _clean(text: str) -> str:
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _capped(found: ExtractedText) -> ExtractedText:
    if len(found.text) <= MAX_TEXT_CHARS:
        return found
    return replace(
        found,
        text=found.text[:MAX_TEXT_CHARS],
        truncated=True,
        original_chars=len(found.text),
    )


# --- plain text and Markdown -------------------------------------------------

_ATX = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_FRONT_TITLE = re.compile(r"^title:\s*[\"']?(.+?)[\"']?\s*$", re.MULTILINE)


def _plain(data: bytes) -> ExtractedText:
    return ExtractedText(text=decode_text(data))


def _markdown(data: bytes) -> ExtractedText:
    text = decode_text(data)
    title = ""
    if text.startswith("---\n"):
        end = text.find("\n---", 4)
        front = _FRONT_TITLE.search(text[4:end]) if end > 0 else None
        title = front.group(1) if front else ""
    headings: list[tuple[int, str]] = []
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else _ATX.match(line)
        if match:
            headings.append((len(match.group(1)), match.group(2)))
    if not title:
        title = next((heading for level, heading in headings if level == 1), "")
    return ExtractedText(text=text, title=title, sections=tuple(h for _, h in headings))


# --- HTML --------------------------------------------------------------------

_SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "iframe", "object"})
_BLOCKS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header"}
    | {"footer", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "dt", "dd"}
    | {"nav", "aside", "main", "figure", "figcaption", "form"}
)


class _HTMLText(HTMLParser):
    """Collect the visible text, title, headings and author of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self.author = ""
        self.headings: list[tuple[str, str]] = []
        self._skip: list[str] = []
        self._in_title = False
        self._heading: list[str] | None = None
        self._heading_tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Enter a title, heading or skipped element; note the author's meta tag."""
        if tag == "title":
            self._in_title = True
        elif tag == "meta":
            values = dict(attrs)
            if (values.get("name") or "").lower() == "author":
                self.author = (values.get("content") or "").strip()
        elif tag in _SKIPPED:
            self._skip.append(tag)
        if tag in _BLOCKS:
            self.parts.append("\n")
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") and not self._skip:
            self._heading, self._heading_tag = [], tag

    def handle_endtag(self, tag: str) -> None:
        """Leave an element, keeping a finished heading's text."""
        if tag == "title":
            self._in_title = False
        elif self._skip and tag == self._skip[-1]:
            self._skip.pop()
        if tag == self._heading_tag and self._heading is not None:
            text = " ".join("".join(self._heading).split())
            if text:
                self.headings.append((tag, text))
            self._heading, self._heading_tag = None, ""
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        """Keep text outside skipped elements."""
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)
            if self._heading is not None:
                self._heading.append(data)


def _html(data: bytes) -> ExtractedText:
    parser = _HTMLText()
    parser.feed(decode_text(data))
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    text = "\n".join(lines)
    title = " ".join(parser.title.split())
    if not title:
        title = next((text for tag, text in parser.headings if tag == "h1"), "")
    return ExtractedText(
        text=text,
        title=title,
        author=parser.author,
        sections=tuple(text for _, text in parser.headings),
    )


# --- PDF ---------------------------------------------------------------------


def _pdf(data: bytes) -> ExtractedText:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            unlocked = reader.decrypt("")
        except Exception as exc:  # unsupported ciphers raise several types
            return ExtractedText(error=f"encrypted PDF that cannot be opened ({_reason(exc)})")
        if not unlocked:
            return ExtractedText(
                error="encrypted PDF: it needs a password; save an unencrypted copy to index it"
            )
    info = reader.metadata
    title = str(info.title or "").strip() if info else ""
    author = str(info.author or "").strip() if info else ""
    pages, notes = _pdf_pages(reader)
    return ExtractedText(
        text="\n\n".join(pages),
        title=title,
        author=author,
        sections=_pdf_outline(reader),
        notes=notes,
    )


def _pdf_pages(reader: Any) -> tuple[list[str], tuple[str, ...]]:
    pages: list[str] = []
    failed: list[int] = []
    total = len(reader.pages)
    for number in range(min(total, MAX_PDF_PAGES)):
        try:
            pages.append(reader.pages[number].extract_text() or "")
        except Exception:  # one bad page should not lose the others
            failed.append(number + 1)
    notes: list[str] = []
    if failed:
        notes.append(f"pages without readable text: {', '.join(map(str, failed[:20]))}")
    if total > MAX_PDF_PAGES:
        notes.append(f"only the first {MAX_PDF_PAGES} of {total} pages were read")
    return pages, tuple(notes)


def _pdf_outline(reader: Any) -> tuple[str, ...]:
    try:
        outline = reader.outline
    except Exception:  # a broken outline is not worth losing the text
        return ()
    titles: list[str] = []

    def walk(entries: Any) -> None:
        """Collect titles from nested outline lists."""
        for entry in entries:
            if isinstance(entry, list):
                walk(entry)
            elif getattr(entry, "title", None):
                titles.append(str(entry.title))

    walk(outline)
    return tuple(titles[:200])


# --- Office Open XML ---------------------------------------------------------


def _check_zip(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        inflated = sum(info.file_size for info in archive.infolist())
    if inflated > MAX_UNZIPPED_BYTES:
        raise ValueError(f"archive inflates to {inflated:,} bytes, beyond the safe limit")


def _docx(data: bytes) -> ExtractedText:
    import docx

    _check_zip(data)
    document = docx.Document(io.BytesIO(data))
    lines: list[str] = []
    sections: list[str] = []
    styled_title = ""
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if text and style == "Title" and not styled_title:
            styled_title = text
        if text and style.startswith(("Heading", "Title")):
            sections.append(text)
        lines.append(paragraph.text)
    for table in document.tables:
        for row in table.rows:
            lines.append("\t".join(cell.text.strip() for cell in row.cells))
    core = document.core_properties
    return ExtractedText(
        text="\n".join(lines),
        title=(core.title or "").strip() or styled_title,
        author=(core.author or "").strip(),
        sections=tuple(sections),
    )


def _optional(module: str, package: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ValueError(f"{package} is not installed; run 'pip install {package}'") from None


def _pptx(data: bytes) -> ExtractedText:
    pptx = _optional("pptx", "python-pptx")
    _check_zip(data)
    deck = pptx.Presentation(io.BytesIO(data))
    lines: list[str] = []
    sections: list[str] = []
    for number, slide in enumerate(deck.slides, start=1):
        title = slide.shapes.title
        heading = title.text_frame.text.strip() if title is not None else ""
        sections.append(heading or f"Slide {number}")
        lines.append(f"## Slide {number}" + (f": {heading}" if heading else ""))
        skip = title.shape_id if title is not None else None
        lines.extend(_shape_texts(s for s in slide.shapes if s.shape_id != skip))
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None and notes.text.strip():
                lines.append(f"Notes: {notes.text.strip()}")
    core = deck.core_properties
    return ExtractedText(
        text="\n".join(lines),
        title=(core.title or "").strip(),
        author=(core.author or "").strip(),
        sections=tuple(sections),
    )


def _shape_texts(shapes: Any) -> Iterator[str]:
    for shape in shapes:
        if getattr(shape, "has_text_frame", False) and shape.text_frame.text.strip():
            yield shape.text_frame.text.strip()
        if getattr(shape, "has_table", False):
            for row in shape.table.rows:
                yield "\t".join(cell.text.strip() for cell in row.cells)
        if hasattr(shape, "shapes"):  # a group of shapes
            yield from _shape_texts(shape.shapes)


def _xlsx(data: bytes) -> ExtractedText:
    openpyxl = _optional("openpyxl", "openpyxl")
    _check_zip(data)
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        lines: list[str] = []
        notes: list[str] = []
        for sheet in book.worksheets:
            lines.append(f"## {sheet.title}")
            for count, row in enumerate(sheet.iter_rows(values_only=True)):
                if count >= MAX_SHEET_ROWS:
                    notes.append(f"sheet {sheet.title!r}: only the first {MAX_SHEET_ROWS} rows")
                    break
                cells = ["" if value is None else str(value) for value in row]
                if any(cells):
                    lines.append("\t".join(cells).rstrip("\t"))
        props = book.properties
        return ExtractedText(
            text="\n".join(lines),
            title=(props.title or "").strip(),
            author=(props.creator or "").strip(),
            sections=tuple(sheet.title for sheet in book.worksheets),
            notes=tuple(notes),
        )
    finally:
        book.close()


_EXTRACTORS: dict[str, Callable[[bytes], ExtractedText]] = {
    MARKDOWN: _markdown,
    "text/x-markdown": _markdown,
    PLAIN: _plain,
    HTML: _html,
    "application/xhtml+xml": _html,
    PDF: _pdf,
    DOCX: _docx,
    PPTX: _pptx,
    XLSX: _xlsx,
}
