"""Configuration from the environment or ``.env`` (documented in ``.env.example``).

A wrong value stops the start with one line that names the variable and what is wrong with it:
an officer at 3 a.m. should not have to read a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from searchbot.domain.broadcast import messages_for

LANGUAGES = ("zh", "en")
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
PROXY_RULE = (
    "expected http://, https:// or socks5:// with [USER:PASSWORD@]HOST:PORT "
    "(e.g. socks5://127.0.0.1:1080)"
)
DATABASE_RULE = (
    "expected e.g. postgresql+asyncpg://USER:PASSWORD@HOST:5432/DB or "
    "sqlite+aiosqlite:///searchbot.db"
)
SECRET_MIN = 32
SECRET_RULE = (
    f"{SECRET_MIN}-256 characters of A-Z, a-z, 0-9, _ and - (e.g. from `openssl rand -hex 32`)"
)


class SettingsError(Exception):
    """A configuration value is wrong; the message names the variable."""


@dataclass(frozen=True)
class Stage:
    """One ring of the search: it goes out ``after`` the report and reaches ``radius_m``."""

    after: timedelta
    radius_m: int


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)?$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(text: str) -> timedelta:
    """``0``, ``90s``, ``10m``, ``1h``, ``2d``; a bare number is seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration (use e.g. 0, 90s, 10m, 1h)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def parse_stages(text: str) -> tuple[Stage, ...]:
    """``0:300,10m:1000`` -> stages; times must start at 0 and both columns must grow."""
    stages = []
    for part in text.split(","):
        after, sep, radius = part.strip().partition(":")
        if not sep or not radius.strip().isdigit():
            raise ValueError(f"{part.strip()!r} is not DURATION:RADIUS_M (e.g. 10m:1000)")
        stages.append(Stage(parse_duration(after), int(radius)))
    if not stages or stages[0].after != timedelta(0):
        raise ValueError("the first stage must start at 0")
    for earlier, later in zip(stages, stages[1:], strict=False):
        if later.after <= earlier.after or later.radius_m <= earlier.radius_m:
            raise ValueError("stage times and radii must both grow")
    if stages[0].radius_m <= 0:
        raise ValueError("radii must be positive")
    return tuple(stages)


@dataclass(frozen=True)
class Area:
    """The service area: a circle around the station's district."""

    lat: float
    lon: float
    radius_m: float


def parse_stars(value: str | int | float) -> Decimal:
    """A number of Stars, 0 or more, in tenths at most (a paid message costs 0.1 Star)."""
    rule = "must be 0 (off) or the most Stars one case may spend, e.g. 500"
    try:
        stars = Decimal(str(value).strip() or "0")
    except InvalidOperation:
        raise ValueError(rule) from None
    if not stars.is_finite() or stars < 0 or stars != stars.quantize(Decimal("0.1")):
        raise ValueError(rule)
    return stars


def parse_area(text: str) -> Area:
    parts = [p.strip() for p in text.split(",")]
    try:
        lat, lon, radius = (float(p) for p in parts)
    except ValueError:
        raise ValueError("expected LAT,LON,RADIUS_M (e.g. 31.2355,121.4752,20000)") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and radius > 0):
        raise ValueError("latitude, longitude or radius out of range")
    return Area(lat, lon, radius)


class Settings(BaseSettings):
    """Every setting of the bot; names are the environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    telegram_bot_token: str | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org/bot", alias="TELEGRAM_API_BASE_URL"
    )
    telegram_api_file_url: str = Field(
        default="https://api.telegram.org/file/bot", alias="TELEGRAM_API_FILE_URL"
    )
    # every Bot API call and file download goes through it (where Telegram is blocked)
    telegram_proxy: str | None = Field(default=None, alias="TELEGRAM_PROXY")
    # the longest wait between two tries at start (the database, Telegram): 1, 2, 4 ... s up to it
    start_retry_max: float = Field(default=60.0, gt=0, alias="SEARCHBOT_START_RETRY_MAX")
    database_url: str = Field(default="sqlite+aiosqlite:///searchbot.db", alias="DATABASE_URL")
    admin_ids: Annotated[tuple[int, ...], NoDecode] = Field(default=(), alias="SEARCHBOT_ADMIN_IDS")
    officer_chat_id: int | None = Field(default=None, alias="SEARCHBOT_OFFICER_CHAT_ID")
    escalation: Annotated[tuple[Stage, ...], NoDecode] = Field(
        default=parse_stages("0:300,10m:1000,30m:2500,1h:5000"), alias="SEARCHBOT_ESCALATION"
    )
    unverified_stages: int = Field(default=1, ge=0, alias="SEARCHBOT_UNVERIFIED_STAGES")
    verify_reminder: Annotated[timedelta, NoDecode] = Field(
        default=timedelta(minutes=5), alias="SEARCHBOT_VERIFY_REMINDER"
    )
    open_reminder: Annotated[timedelta, NoDecode] = Field(
        default=timedelta(minutes=30), alias="SEARCHBOT_OPEN_REMINDER"
    )
    stale_after: Annotated[timedelta, NoDecode] = Field(
        default=timedelta(days=1), alias="SEARCHBOT_STALE_AFTER"
    )
    exit_warning: Annotated[timedelta, NoDecode] = Field(
        default=timedelta(minutes=10), alias="SEARCHBOT_EXIT_WARNING"
    )
    reports_per_hour: int = Field(default=3, ge=1, alias="SEARCHBOT_REPORTS_PER_HOUR")
    register_cooldown: Annotated[timedelta, NoDecode] = Field(
        default=timedelta(hours=1), alias="SEARCHBOT_REGISTER_COOLDOWN"
    )
    registrations_per_day: int = Field(default=5, ge=1, alias="SEARCHBOT_REGISTRATIONS_PER_DAY")
    sightings_per_case: int = Field(default=10, ge=1, alias="SEARCHBOT_SIGHTINGS_PER_CASE")
    retention_days: int = Field(default=30, ge=1, alias="SEARCHBOT_RETENTION_DAYS")
    records_domain: str = Field(default="searchbot.invalid", alias="SEARCHBOT_RECORDS_DOMAIN")
    webhook_url: str | None = Field(default=None, alias="SEARCHBOT_WEBHOOK_URL")
    webhook_listen: str = Field(default="0.0.0.0:8443", alias="SEARCHBOT_WEBHOOK_LISTEN")
    webhook_secret: str | None = Field(
        default=None, alias="SEARCHBOT_WEBHOOK_SECRET", validate_default=True
    )
    metrics_listen: str | None = Field(default=None, alias="SEARCHBOT_METRICS_LISTEN")
    language: str = Field(default="zh", alias="SEARCHBOT_LANGUAGE")
    timezone: str = Field(default="Asia/Shanghai", alias="SEARCHBOT_TIMEZONE")
    phone_region: str = Field(default="CN", alias="SEARCHBOT_PHONE_REGION")
    service_area: Annotated[Area | None, NoDecode] = Field(
        default=None, alias="SEARCHBOT_SERVICE_AREA"
    )
    geocoder: str | None = Field(default=None, alias="SEARCHBOT_GEOCODER")
    geocoder_domain: str | None = Field(default=None, alias="SEARCHBOT_GEOCODER_DOMAIN")
    alert_show_name: bool = Field(default=False, alias="SEARCHBOT_ALERT_SHOW_NAME")
    protect_content: bool = Field(default=True, alias="SEARCHBOT_PROTECT_CONTENT")
    tick_seconds: float = Field(default=5.0, gt=0, alias="SEARCHBOT_TICK_SECONDS")
    global_per_second: float = Field(default=30.0, gt=0, alias="SEARCHBOT_GLOBAL_PER_SECOND")
    group_per_minute: int = Field(default=20, gt=0, alias="SEARCHBOT_GROUP_PER_MINUTE")
    chat_per_second: float = Field(default=1.0, gt=0, alias="SEARCHBOT_CHAT_PER_SECOND")
    max_attempts: int = Field(default=5, ge=1, alias="SEARCHBOT_MAX_ATTEMPTS")
    retry_seconds: float = Field(default=2.0, gt=0, alias="SEARCHBOT_RETRY_SECONDS")
    # paid broadcast (searchbot/domain/broadcast.py): the most Stars one case may spend; 0: off
    paid_broadcast_stars: Decimal = Field(
        default=Decimal(0), alias="SEARCHBOT_PAID_BROADCAST_STARS"
    )
    allow_paid_broadcast: bool = Field(default=False, alias="SEARCHBOT_ALLOW_PAID_BROADCAST")
    # several instances on PostgreSQL: how long a leader that stopped answering (a hung or
    # stopped process, a cut network) keeps the lead before a standby takes over
    leader_timeout: float = Field(default=5.0, ge=2.0, le=600.0, alias="SEARCHBOT_LEADER_TIMEOUT")
    # the command room (searchbot/web): off unless WEB_LISTEN is set
    web_listen: str | None = Field(default=None, alias="SEARCHBOT_WEB_LISTEN")
    web_url: str | None = Field(default=None, alias="SEARCHBOT_WEB_URL")
    map_tiles: str = Field(
        default="https://tile.openstreetmap.org/{z}/{x}/{y}.png", alias="SEARCHBOT_MAP_TILES"
    )
    screen_hours: float = Field(default=12.0, gt=0, alias="SEARCHBOT_SCREEN_HOURS")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            items = [item.strip() for item in value.split(",") if item.strip()]
            bad = [item for item in items if not item.lstrip("-").isdigit()]
            if bad:
                raise ValueError(f"{bad[0]!r} is not a numeric Telegram user id")
            return tuple(int(item) for item in items)
        return value

    @field_validator("telegram_api_base_url", "telegram_api_file_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or not _port_ok(value):
            raise ValueError("expected an http(s) URL, e.g. https://api.telegram.org/bot")
        return value

    @field_validator("telegram_proxy", mode="before")
    @classmethod
    def _proxy(cls, value: object) -> object:
        """The complaint never repeats the value: it may carry the proxy's password."""
        if not isinstance(value, str):
            return value
        value = value.strip()
        if not value:
            return None
        parts = urlsplit(value)
        if (
            parts.scheme not in PROXY_SCHEMES
            or not parts.hostname
            or not _port_ok(value, required=True)
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
        ):
            raise ValueError(PROXY_RULE)
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        """A URL SQLAlchemy reads, of a kind it knows, with an asynchronous driver that is
        installed: anything else would only fail later, with a traceback."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            url = make_url(value)
            dialect = url.get_dialect(_is_async=True)  # what create_async_engine would load
        except NoSuchModuleError:  # (an ArgumentError too: first)
            raise ValueError(f"unknown kind {url.drivername!r}; {DATABASE_RULE}") from None
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            raise ValueError(f"not a database URL; {DATABASE_RULE}") from None
        if not dialect.is_async:
            raise ValueError(f"{url.drivername!r} is not an asynchronous driver; {DATABASE_RULE}")
        try:
            dialect.import_dbapi()
        except ImportError:
            raise ValueError(
                f"the driver of {url.drivername!r} is not installed; {DATABASE_RULE}"
            ) from None
        return value

    @field_validator("escalation", mode="before")
    @classmethod
    def _escalation(cls, value: object) -> object:
        return parse_stages(value) if isinstance(value, str) else value

    @field_validator(
        "verify_reminder",
        "open_reminder",
        "stale_after",
        "register_cooldown",
        "exit_warning",
        mode="before",
    )
    @classmethod
    def _duration(cls, value: object) -> object:
        if isinstance(value, str):
            duration = parse_duration(value)
            if duration <= timedelta(0):
                raise ValueError("must be longer than 0")
            return duration
        return value

    @field_validator("service_area", mode="before")
    @classmethod
    def _service_area(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_area(value) if value.strip() else None
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia" is a folder
            raise ValueError(f"{value!r} is not a time zone name (e.g. Asia/Shanghai)") from None
        return value

    @field_validator("phone_region")
    @classmethod
    def _phone_region(cls, value: str) -> str:
        from searchbot.domain.phones import is_region

        if not is_region(value.strip().upper()):
            raise ValueError(f"{value!r} is not a two-letter region code (e.g. CN, HK, GB)")
        return value.strip().upper()

    @field_validator(
        "webhook_url", "webhook_secret", "metrics_listen", "web_listen", "web_url", mode="before"
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        """With a webhook, the secret is all that keeps forged updates out: long enough that
        guessing is hopeless, in the characters Telegram allows."""
        webhook = info.data.get("webhook_url") is not None
        if value is None:
            if webhook:
                raise ValueError(f"required with a webhook; {SECRET_RULE}")
            return value
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value) or (
            webhook and len(value) < SECRET_MIN
        ):
            raise ValueError(SECRET_RULE)
        return value

    @field_validator("webhook_listen", "metrics_listen", "web_listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is not None:
            host, _, port = value.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:9090")
        return value

    @field_validator("web_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        # Telegram opens Mini Apps over https only; http is for a local trial and the tests
        if value is not None and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError("expected the public base URL, e.g. https://map.example.org")
        return value.rstrip("/") if value else value

    @property
    def webhook_address(self) -> tuple[str, int]:
        host, _, port = self.webhook_listen.rpartition(":")
        return host, int(port)

    @field_validator("officer_chat_id", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("paid_broadcast_stars", mode="before")
    @classmethod
    def _paid_broadcast_stars(cls, value: object) -> object:
        return parse_stars(value) if isinstance(value, str | int | float) else value

    @field_validator("allow_paid_broadcast")
    @classmethod
    def _replaced_switch(cls, value: bool) -> bool:
        """The old switch put every send on the paid rate; a station that had it on must now
        say what a case may cost, not have the bill decided for it."""
        if value:
            raise ValueError(
                "replaced by SEARCHBOT_PAID_BROADCAST_STARS, the most Stars one case may spend "
                "on paid broadcast (e.g. 500); set that and remove this one"
            )
        return value

    @property
    def paid_budget(self) -> int:
        """Paid messages one case may send (0: paid broadcast is off)."""
        return messages_for(self.paid_broadcast_stars)


def _port_ok(url: str, required: bool = False) -> bool:
    """The URL's port is a number from 1 to 65535, or absent where that is allowed."""
    try:
        port = urlsplit(url).port  # reading it checks it (ValueError)
    except ValueError:
        return False
    if port is None:
        return not required
    return port > 0


def without_password(url: str) -> str:
    """``url`` with its password (if any) shown as ``***``: for log lines and complaints."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    name = user.partition(":")[0]
    return parts._replace(netloc=f"{name}:***@{host}").geturl()


def load_settings(**overrides: object) -> Settings:
    """Read the settings; raise SettingsError with one readable line on any wrong value."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        name = _variable_name(first.get("loc", ()))
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None


def _variable_name(location: tuple[object, ...]) -> str:
    if not location:
        return "configuration"
    field = str(location[0])
    info = Settings.model_fields.get(field)
    return (info.alias if info and info.alias else field).upper()
