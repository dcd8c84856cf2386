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


@pytest.mark.parametrize(
    ("secret", "complaint"),
    [
        (None, "required with a webhook"),
        ("s", "32-256 characters"),
        ("s3cret-Token", "32-256 characters"),
        ("a" * 31, "32-256 characters"),
        ("a" * 31 + "!", "32-256 characters"),  # not in Telegram's set
        ("a" * 257, "32-256 characters"),
    ],
)
def test_a_webhook_needs_a_secret_of_32_allowed_characters(
    secret: str | None, complaint: str
) -> None:
    values = {"SEARCHBOT_WEBHOOK_URL": "https://bot.example.org/telegram"}
    if secret is not None:
        values["SEARCHBOT_WEBHOOK_SECRET"] = secret
    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None, **values)
    assert str(raised.value).startswith("SEARCHBOT_WEBHOOK_SECRET: ")
    assert complaint in str(raised.value)
    good = load_settings(_env_file=None, **{**values, "SEARCHBOT_WEBHOOK_SECRET": "a-Z_9" * 7})
    assert good.webhook_secret == "a-Z_9" * 7


@pytest.mark.parametrize("flag", [False, True])
def test_a_short_webhook_secret_stops_the_start_naming_the_variable(
    tmp_path: object, flag: bool
) -> None:
    """From the environment or from ``run --webhook URL``: the start is refused."""
    env = {"PATH": "/usr/bin:/bin", "TELEGRAM_BOT_TOKEN": "123:ABC",
           "SEARCHBOT_WEBHOOK_SECRET": "short-secret"}  # fmt: skip
    args = ["run", "--webhook", "https://bot.example.org/telegram"]
    if not flag:
        env["SEARCHBOT_WEBHOOK_URL"] = "https://bot.example.org/telegram"
        args = ["run"]
    result = _searchbot(*args, env=env, cwd=str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "SEARCHBOT_WEBHOOK_SECRET" in result.stderr and "32-256" in result.stderr


def test_the_phone_region_is_a_region_code(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(_env_file=None).phone_region == "CN"
    assert load_settings(_env_file=None, SEARCHBOT_PHONE_REGION="hk").phone_region == "HK"
    with pytest.raises(SettingsError, match="^SEARCHBOT_PHONE_REGION: "):
        load_settings(_env_file=None, SEARCHBOT_PHONE_REGION="Mars")


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("SEARCHBOT_PAID_BROADCAST_STARS", "-5", "the most Stars one case may spend"),
        ("SEARCHBOT_PAID_BROADCAST_STARS", "0.05", "the most Stars one case may spend"),
        ("SEARCHBOT_PAID_BROADCAST_STARS", "lots", "the most Stars one case may spend"),
        ("SEARCHBOT_ALLOW_PAID_BROADCAST", "true", "replaced by SEARCHBOT_PAID_BROADCAST_STARS"),
    ],
)
def test_paid_broadcast_takes_a_budget_in_stars(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, complaint: str
) -> None:
    """Off by default; a budget of Stars a case, in tenths at most (0.1 Star a message). The
    old switch, which paid for every message, stops the start rather than guess a budget."""
    assert load_settings(_env_file=None).paid_budget == 0
    assert load_settings(_env_file=None, SEARCHBOT_PAID_BROADCAST_STARS="12.5").paid_budget == 125
    assert load_settings(_env_file=None, SEARCHBOT_ALLOW_PAID_BROADCAST="false").paid_budget == 0
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None)
    assert str(raised.value).startswith(f"{variable}: ")
    assert complaint in str(raised.value)
