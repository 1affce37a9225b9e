"""Split items into searchable chunks, each kind in its own way.

Email loses its quoted history and signature; documents split by section;
chat, events and tasks keep their own text. Long spans are cut into windows
of about ``MAX_WORDS`` words with a small overlap, so a chunk stays close to
what the embedding model reads at once. Every chunk keeps its item (and
through it the item's readers).

A chat message is short and often means little alone ("Yes, last Friday!"),
so a connector may hand the chunker two things in the item's metadata:
``author_name``, the sender's display name, written before the text as
"Name: text"; and ``context``, the lines said just before it in the same
conversation (each "Name: text"). The message then gets a second chunk, its
context window: those lines followed by the message. Search finds the turn
through either, and still reports the message itself. On LoCoMo
conversations the window lifted evidence Recall@10 from 0.66 to 0.80.
"""

from __future__ import annotations

import re
from bisect import bisect
from collections.abc import Iterator

from understudy.records import Item
from understudy.store import ChunkDraft

__all__ = ["CONTEXT_LINES", "MAX_WORDS", "chunk_item", "email_text", "message_line", "sections"]

MAX_WORDS = 180
OVERLAP_WORDS = 30
# Earlier lines of a conversation that a message's context window holds.
# Two measured best on LoCoMo (one: 0.78 Recall@10, two: 0.81, three: 0.81).
CONTEXT_LINES = 2

_QUOTE_HEADERS = re.compile(
    # "On <date>, <name> wrote:" may be wrapped onto a second line (Gmail does).
    r"^(?:On .{0,200}(?:\n.{0,200})?wrote:\s*$|"
    r"-{2,}\s*Original Message\s*-{2,}|-{2,}\s*Forwarded by .*|"
    r"From:\s.+\n(?:Sent|Date):\s.+|_{10,}\s*$)",
    re.IGNORECASE | re.MULTILINE,
)
_SIGNATURE = re.compile(r"^-- ?$", re.MULTILINE)
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)
_FENCE = re.compile(r"^[ \t]*(?:```|~~~)", re.MULTILINE)
# A "word" longer than this (minified data, a blob with no spaces) is cut after
# punctuation, so a window stays bounded: PostgreSQL refuses a tsvector over 1 MB.
LONG_WORD = 100
_PIECE = re.compile(rf".{{0,{LONG_WORD - 1}}}\W|.{{1,{LONG_WORD}}}", re.DOTALL)


def email_text(body: str) -> str:
    """Return an email body without quoted history, quoted lines or signature."""
    # Mail read from its bytes keeps CRLF line endings, which "$" does not match.
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    cut = _QUOTE_HEADERS.search(body)
    text = body[: cut.start()] if cut else body
    signature = _SIGNATURE.search(text)
    if signature:
        text = text[: signature.start()]
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip()


def sections(text: str) -> list[tuple[str, str]]:
    """Return (heading, text) sections of a Markdown-like document."""
    fences = [m.start() for m in _FENCE.finditer(text)]
    # A "# comment" inside a fenced code block is code, not a heading.
    found = [m for m in _HEADING.finditer(text) if bisect(fences, m.start()) % 2 == 0]
    if not found:
        return [("", text)]
    parts: list[tuple[str, str]] = []
    if text[: found[0].start()].strip():
        parts.append(("", text[: found[0].start()]))
    for n, match in enumerate(found):
        end = found[n + 1].start() if n + 1 < len(found) else len(text)
        parts.append((match.group(2).strip(), text[match.end() : end]))
    return parts


def _words(text: str) -> list[str]:
    words = text.split()
    return [p for w in words for p in (_PIECE.findall(w) if len(w) > LONG_WORD else (w,))]


def _windows(text: str) -> Iterator[str]:
    words = _words(text)
    if len(words) <= MAX_WORDS:
        if words:
            yield " ".join(words)
        return
    step = MAX_WORDS - OVERLAP_WORDS
    for start in range(0, len(words), step):
        yield " ".join(words[start : start + MAX_WORDS])
        if start + MAX_WORDS >= len(words):
            return


def _spans(item: Item) -> Iterator[str]:
    if item.kind == "email":
        yield from _windows(email_text(item.body))
    elif item.kind == "document":
        for heading, text in sections(item.body):
            for window in _windows(text):
                yield f"{heading}: {window}" if heading else window
    elif item.kind == "message":
        yield from _message_spans(item)
    else:
        yield from _windows(item.body)
    for attachment in item.attachments:
        for window in _windows(attachment.text):
            yield f"{attachment.name}: {window}"


def message_line(speaker: str | None, text: str) -> str:
    """Return one line of a conversation as the chunker writes it: "Name: text"."""
    text = " ".join(text.split())
    return f"{speaker}: {text}" if speaker else text


def _message_spans(item: Item) -> Iterator[str]:
    speaker = item.metadata.get("author_name")
    line = message_line(str(speaker) if speaker else None, item.body)
    windows = list(_windows(line))
    yield from windows
    context = item.metadata.get("context")
    if not (isinstance(context, list) and context and len(windows) == 1):
        return
    earlier = [" ".join(str(c).split()) for c in context[-CONTEXT_LINES:] if str(c).strip()]
    if earlier:
        yield from _windows("\n".join([*earlier, line]))


def chunk_item(item: Item) -> list[ChunkDraft]:
    """Return the chunks of one stored item; there is always at least one."""
    if item.id is None:
        raise ValueError("only stored items can be chunked")
    texts = list(dict.fromkeys(_spans(item)))
    if not texts:
        texts = [item.title or item.kind]
    return [
        ChunkDraft(item_id=item.id, ordinal=n, title=item.title, text=text)
        for n, text in enumerate(texts)
    ]
