"""Settings come from the environment, then config.toml, then the default."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from understudy.errors import ConfigError
from understudy.settings import SETTINGS, Settings, ensure_home


def test_defaults_then_file_then_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNDERSTUDY_EMBEDDING_MODEL")
    assert Settings.load().origins["timezone"] == "default"
    home.mkdir(parents=True)
    (home / "config.toml").write_text('timezone = "Europe/Paris"\nllm_timeout = 5\n')
    loaded = Settings.load()
    assert (loaded["timezone"], loaded.origins["timezone"]) == ("Europe/Paris", "config file")
    assert loaded["llm_timeout"] == 5.0
    monkeypatch.setenv("UNDERSTUDY_TIMEZONE", "Asia/Tokyo")
    loaded = Settings.load()
    assert (loaded["timezone"], loaded.origins["timezone"]) == ("Asia/Tokyo", "environment")
    assert loaded.home == home


def test_every_setting_has_help_and_an_environment_variable() -> None:
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    for setting in SETTINGS:
        assert setting.help.endswith(".")
        assert setting.env_var == f"UNDERSTUDY_{setting.name.upper()}"


def test_a_malformed_config_file_names_the_file(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text("timezone = [unclosed\n")
    with pytest.raises(ConfigError, match=r"config\.toml: not valid TOML"):
        Settings.load()


def test_an_unknown_setting_names_the_known_ones(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text('tmezone = "UTC"\n')
    with pytest.raises(ConfigError, match="unknown setting 'tmezone'; known settings are"):
        Settings.load()


def test_a_value_of_the_wrong_type_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNDERSTUDY_LLM_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="UNDERSTUDY_LLM_TIMEOUT: llm_timeout must be a float"):
        Settings.load()


def test_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNDERSTUDY_DATABASE_URL", "postgresql://app:hunter2@db.example/u")
    shown = Settings.load().shown("database_url")
    assert "hunter2" not in shown
    assert shown == "postgresql://app:***@db.example/u"


def test_home_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="cannot create UNDERSTUDY_HOME"):
        ensure_home(blocker / "home")
    with pytest.raises(ConfigError, match="UNDERSTUDY_HOME is not a directory"):
        ensure_home(blocker)


def test_home_that_is_read_only(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root writes through file modes; /proc/1 is a directory nobody can write into
        target = Path("/proc/1")
    else:
        target = tmp_path / "ro"
        target.mkdir()
        target.chmod(0o500)
    with pytest.raises(ConfigError, match="not writable"):
        ensure_home(target)
