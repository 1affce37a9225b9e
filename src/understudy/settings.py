"""The settings table: every knob with its default and help, in one place.

A setting is read from the environment (``UNDERSTUDY_<NAME>``), then from
``$UNDERSTUDY_HOME/config.toml``, then from its default. ``home`` itself can
only come from the environment or the default, because the config file lives
inside it.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from understudy.errors import ConfigError

__all__ = ["SETTINGS", "Setting", "Settings", "ensure_home"]

Origin = Literal["environment", "config file", "default"]


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: its name, default, type and the help a user reads."""

    name: str
    default: str | int | float | bool
    help: str
    secret: bool = False

    @property
    def env_var(self) -> str:
        """Return the environment variable that sets this setting."""
        return f"UNDERSTUDY_{self.name.upper()}"

    def parse(self, raw: object, where: str) -> str | int | float | bool:
        """Convert ``raw`` to this setting's type, or explain what is wrong."""
        kind = type(self.default)
        if isinstance(raw, kind) and not (kind is int and isinstance(raw, bool)):
            return raw
        text = str(raw).strip()
        try:
            if kind is bool:
                if text.lower() in {"1", "true", "yes", "on"}:
                    return True
                if text.lower() in {"0", "false", "no", "off", ""}:
                    return False
                raise ValueError(text)
            if kind is int:
                return int(text)
            if kind is float:
                return float(text)
        except ValueError:
            raise ConfigError(
                f"{where}: {self.name} must be a {kind.__name__}, got {text!r}; "
                f"fix it or remove it to use the default {self.default!r}"
            ) from None
        return text


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "home", "~/.understudy", "Directory that holds all state: database, indexes, demo data."
    ),
    Setting(
        "database_url",
        "",
        "PostgreSQL URL (postgresql://user@host/db) for a server deployment; "
        "empty means the SQLite file understudy.db in UNDERSTUDY_HOME.",
        secret=True,
    ),
    Setting("org", "default", "Name of the organization this deployment serves."),
    Setting("timezone", "UTC", "Time zone used to show times and to decide what 'today' is."),
    Setting(
        "embedding_model",
        "minilm",
        "Embedding model: 'minilm' (packaged all-MiniLM-L6-v2 on the CPU) or 'hash' (no model).",
    ),
    Setting("vector_index", "auto", "Vector index: 'auto', 'exact' (numpy) or 'hnsw'."),
    Setting("llm_url", "", "Base URL of an OpenAI-compatible server; empty means no model."),
    Setting("llm_model", "", "Model name to request from the OpenAI-compatible server."),
    Setting("llm_api_key", "", "API key for the OpenAI-compatible server.", secret=True),
    Setting("llm_timeout", 60.0, "Seconds to wait for one language-model response."),
    Setting(
        "smtp_url",
        "",
        "SMTP server for mail the understudy sends (smtp://user:pass@host:587, smtps://…); "
        "empty means approved mail is written to $UNDERSTUDY_HOME/outbox.",
        secret=True,
    ),
    Setting(
        "caldav_url",
        "",
        "CalDAV calendar URL where approved invitations are written; empty means .ics files "
        "in $UNDERSTUDY_HOME/outbox.",
        secret=True,
    ),
    Setting(
        "server_connections",
        0,
        "Store connections one server process works on at once; 0 means 1 for SQLite "
        "without a language model (its requests only compute, and Python computes on one "
        "thread at a time) and 4 otherwise (requests wait on PostgreSQL or the model).",
    ),
    Setting("log_level", "WARNING", "Logging level: DEBUG, INFO, WARNING or ERROR."),
)

_BY_NAME = {setting.name: setting for setting in SETTINGS}


@dataclass(frozen=True, slots=True)
class Settings:
    """The effective settings, with where each value came from."""

    values: Mapping[str, str | int | float | bool]
    origins: Mapping[str, Origin]

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the environment, then the config file, then the defaults."""
        env = os.environ if environ is None else environ
        values: dict[str, str | int | float | bool] = {}
        origins: dict[str, Origin] = {}
        home_setting = _BY_NAME["home"]
        home_raw = env.get(home_setting.env_var, "").strip()
        home = Path(home_raw or str(home_setting.default)).expanduser()
        file_values = _read_config_file(home / "config.toml")
        for setting in SETTINGS:
            if setting.env_var in env and env[setting.env_var].strip() != "":
                values[setting.name] = setting.parse(env[setting.env_var], setting.env_var)
                origins[setting.name] = "environment"
            elif setting.name in file_values and setting.name != "home":
                where = f"{home / 'config.toml'}"
                values[setting.name] = setting.parse(file_values[setting.name], where)
                origins[setting.name] = "config file"
            else:
                values[setting.name] = setting.default
                origins[setting.name] = "default"
        values["home"] = str(home)
        return cls(values=values, origins=origins)

    def __getitem__(self, name: str) -> str | int | float | bool:
        return self.values[name]

    def text(self, name: str) -> str:
        """Return a setting as text."""
        return str(self.values[name])

    @property
    def home(self) -> Path:
        """Return the directory that holds all state."""
        return Path(self.text("home"))

    @property
    def database_url(self) -> str:
        """Return the PostgreSQL URL, or the empty string for SQLite."""
        return self.text("database_url")

    def shown(self, name: str) -> str:
        """Return a setting as a user may see it, with secrets masked."""
        value = self.text(name)
        if _BY_NAME[name].secret and value:
            return _mask(value)
        return value


def _mask(value: str) -> str:
    if "://" in value and "@" in value:
        scheme, rest = value.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in credentials else value
    return value[:3] + "***" if len(value) > 6 else "***"


def _read_config_file(path: Path) -> dict[str, object]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file or remove it") from None
    unknown = sorted(set(data) - set(_BY_NAME))
    if unknown:
        known = ", ".join(sorted(_BY_NAME))
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r}; known settings are {known}")
    return data


def ensure_home(home: Path) -> Path:
    """Create ``home`` if needed and check that it is writable."""
    if home.exists() and not home.is_dir():
        raise ConfigError(f"{home}: UNDERSTUDY_HOME is not a directory; point it at a directory")
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"{home}: cannot create UNDERSTUDY_HOME ({exc.strerror}); "
            "set UNDERSTUDY_HOME to a writable directory"
        ) from None
    try:
        # A uniquely named probe: threads and processes may open stores at once.
        with tempfile.NamedTemporaryFile(dir=home, prefix=".write-probe-"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"{home}: UNDERSTUDY_HOME is not writable ({exc.strerror}); "
            "set UNDERSTUDY_HOME to a writable directory"
        ) from None
    return home
