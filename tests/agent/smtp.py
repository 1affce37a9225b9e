"""A real SMTP server on loopback (aiosmtpd in a thread) that keeps what it receives."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.sources.radicale import free_port

__all__ = ["Delivery", "SMTPServer", "running_smtp"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message the server accepted: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage


@dataclass
class SMTPServer:
    """A running server: its URL for ``UNDERSTUDY_SMTP_URL`` and what it received."""

    host: str
    port: int
    received: list[Delivery] = field(default_factory=list)
    refuse: bool = False

    @property
    def url(self) -> str:
        """Return the smtp:// URL of the server."""
        return f"smtp://{self.host}:{self.port}"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        """Accept a recipient, or refuse every one when told to."""
        if self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the message."""
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Delivery(envelope.mail_from, tuple(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


@contextmanager
def running_smtp(refuse: bool = False) -> Iterator[SMTPServer]:
    """Run an SMTP server on 127.0.0.1 until the block ends."""
    server = SMTPServer("127.0.0.1", free_port(), refuse=refuse)
    controller = Controller(server, hostname=server.host, port=server.port, ready_timeout=10)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
