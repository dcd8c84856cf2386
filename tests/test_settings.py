"""Wrong configuration stops the start with one line naming the variable."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from searchbot.settings import SettingsError, load_settings, parse_stages


def test_defaults_follow_the_design() -> None:
    settings = load_settings(_env_file=None)
    assert [s.radius_m for s in settings.escalation] == [300, 1000, 2500, 5000]
    assert settings.escalation[1].after == timedelta(minutes=10)
    assert settings.unverified_stages == 1 and settings.language == "zh"
    assert settings.database_url.startswith("sqlite+aiosqlite")


def test_stage_schedule_parsing() -> None:
    stages = parse_stages("0:300, 90s:1000, 1h:5000")
    assert [(s.after.total_seconds(), s.radius_m) for s in stages] == [
        (0, 300), (90, 1000), (3600, 5000),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("SEARCHBOT_ESCALATION", "0:300,5m:100", "must both grow"),
        ("SEARCHBOT_ESCALATION", "5m:300", "first stage must start at 0"),
        ("SEARCHBOT_ESCALATION", "0:300,ten:1000", "not a duration"),
        ("SEARCHBOT_ADMIN_IDS", "12,abc", "'abc' is not a numeric"),
        ("SEARCHBOT_LANGUAGE", "fr", "zh, en"),
        ("SEARCHBOT_SERVICE_AREA", "31.2,121.4", "LAT,LON,RADIUS_M"),
        ("SEARCHBOT_UNVERIFIED_STAGES", "many", "integer"),
        ("SEARCHBOT_TIMEZONE", "Mars/Olympus", "not a time zone name"),
        ("SEARCHBOT_TIMEZONE", "../etc/passwd", "not a time zone name"),
        ("SEARCHBOT_TIMEZONE", "Asia", "not a time zone name"),
        ("SEARCHBOT_TIMEZONE", "", "not a time zone name"),
    ],
)
def test_a_wrong_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, complaint: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None)
    assert str(raised.value).startswith(f"{variable}: ")
    assert complaint in str(raised.value)


def _searchbot(*args: str, env: dict[str, str], cwd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "searchbot", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_run_without_token_points_to_the_demo(tmp_path: object) -> None:
    env = {"PATH": "/usr/bin:/bin", "TELEGRAM_BOT_TOKEN": ""}
    result = _searchbot("run", env=env, cwd=str(tmp_path))
    assert result.returncode != 0
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "searchbot demo" in result.stderr


def test_a_bad_setting_stops_the_cli_with_one_line(tmp_path: object) -> None:
    env = {"PATH": "/usr/bin:/bin", "SEARCHBOT_ESCALATION": "0:300,1m:200"}
    result = _searchbot("run", env=env, cwd=str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "SEARCHBOT_ESCALATION" in result.stderr
