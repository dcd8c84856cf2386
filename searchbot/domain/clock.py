"""Time: an injectable clock and the parsing of "when" answers ("14:30", "20 min", "刚刚")."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


# The station's wall clock: people type and read local times. One station, one zone, set once
# at start from SEARCHBOT_TIMEZONE, so it is process-wide rather than passed through every card.
_local: tzinfo = ZoneInfo("Asia/Shanghai")


def use_zone(name: str) -> None:
    """Make ``name`` (an IANA zone, e.g. ``Europe/Berlin``) the station's wall clock."""
    global _local
    _local = ZoneInfo(name)


_NOW_WORDS = {"now", "just now", "刚刚", "刚才", "现在", "/now"}
_AGO = re.compile(
    r"^(\d{1,3})\s*(m|min|mins|minute|minutes|分钟|分|h|hr|hour|hours|小时)\s*(ago|前|之前)?$"
)
_CLOCK = re.compile(r"^(\d{1,2})[:：.](\d{2})$")


def parse_when(text: str, now: datetime, local: tzinfo | None = None) -> datetime | None:
    """The moment a "when" answer means, or None when it is not understood.

    A bare clock time later than now is taken as yesterday only when it is more than an hour
    ahead (someone typing at 00:10 about 23:50); otherwise it is a typo and rejected upstream.
    """
    answer = " ".join(text.strip().lower().split())
    if answer in _NOW_WORDS:
        return now
    if match := _AGO.match(answer):
        amount = int(match.group(1))
        hours = match.group(2) in {"h", "hr", "hour", "hours", "小时"}
        return now - (timedelta(hours=amount) if hours else timedelta(minutes=amount))
    if match := _CLOCK.match(answer):
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 23 or minute > 59:
            return None
        local_now = now.astimezone(local or _local)
        moment = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if moment - local_now > timedelta(hours=1):
            moment -= timedelta(days=1)
        return moment.astimezone(UTC)
    return None


def as_utc(moment: datetime) -> datetime:
    """Aware UTC; a naive value is taken to be UTC already (as the database hands it back)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def minutes_between(earlier: datetime, later: datetime) -> int:
    return max(0, int((later - earlier).total_seconds() // 60))


def local_hhmm(moment: datetime, local: tzinfo | None = None) -> str:
    return moment.astimezone(local or _local).strftime("%H:%M")
