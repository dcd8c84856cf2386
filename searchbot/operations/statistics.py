"""Figures for the officers: how searches end, how fast children are found, how the groups
answer; and a small PNG chart of them.

Counting is done with SQL aggregates (``GROUP BY``, ``COUNT(DISTINCT …)``); durations are
computed in Python from the two timestamps, which behaves the same on SQLite and PostgreSQL.

Percentiles use the **nearest-rank** method: the p-th percentile of N sorted values is the value
at rank ⌈p/100 · N⌉ (1-based). It is always one of the observed durations, never an
interpolation; the median is the 50th percentile in that sense, so for an even N it is the
lower of the two middle values.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import distinct, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.domain.clock import as_utc
from searchbot.models import (
    Alert,
    Case,
    CaseOutcome,
    CaseStatus,
    Group,
    GroupRole,
    GroupStatus,
    Sighting,
)

OUTCOMES = (CaseStatus.OPEN, *CaseOutcome)
ROLES = tuple(GroupRole)
GROUP_STATUSES = tuple(GroupStatus)
FAST_MINUTES = 30.0

DEFAULT_LABELS: dict[str, str] = {
    "outcomes_title": "Cases by outcome",
    "found_title": "Time to found",
    CaseStatus.OPEN: "Open",
    CaseOutcome.FOUND: "Found",
    CaseOutcome.FALSE_ALARM: "False alarm",
    CaseOutcome.WITHDRAWN: "Withdrawn",
    "cases": "Cases",
    "minutes": "Minutes",
    "no_data": "No found cases yet",
}

# Fonts that cover Chinese, tried in this order when any label needs them; whichever is
# installed goes first in the family list and DejaVu Sans (matplotlib's own) stays the fallback.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",  # Debian's fonts-noto-cjk collection registers under this name
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "AR PL UMing CN",
)


@dataclass(frozen=True)
class Figures:
    """The officers' figures over the cases reported since ``since`` (all when None).

    Averages and percentiles are None when there is nothing to average."""

    since: datetime | None
    cases_by_outcome: dict[str, int]
    found_minutes: tuple[float, ...]  # each found case's closed_at - created_at, sorted
    found_median_minutes: float | None
    found_p90_minutes: float | None
    found_within_30_share: float | None  # found in at most 30 minutes / all found
    sightings_per_case: float | None  # all sightings of those cases / those cases
    approved_groups_by_role: dict[str, int]
    groups_by_status: dict[str, int]
    groups_alerted: int  # distinct groups alerted for those cases
    groups_answered: int  # of them, those that pressed "checked" at least once

    @property
    def total_cases(self) -> int:
        return sum(self.cases_by_outcome.values())


async def compute(
    session: AsyncSession,
    since: datetime | None = None,
    stations: set[int | None] | None = None,
) -> Figures:
    """All figures, for cases created at or after ``since`` (groups are counted as they are
    now, whatever ``since`` says: a group's status has no history); ``stations``: only the
    cases and groups of these stations (None: every one; the default station is None)."""
    window = Window(since, stations)
    by_outcome = await _cases_by_outcome(session, window)
    minutes = await _found_minutes(session, window)
    sightings = await _sighting_count(session, window)
    cases = sum(by_outcome.values())
    alerted, answered = await _alerted_and_answered(session, window)
    return Figures(
        since=since,
        cases_by_outcome=by_outcome,
        found_minutes=minutes,
        found_median_minutes=nearest_rank(minutes, 50),
        found_p90_minutes=nearest_rank(minutes, 90),
        found_within_30_share=_share(minutes, FAST_MINUTES),
        sightings_per_case=sightings / cases if cases else None,
        approved_groups_by_role=await _approved_by_role(session, stations),
        groups_by_status=await _groups_by_status(session, stations),
        groups_alerted=alerted,
        groups_answered=answered,
    )


def nearest_rank(values: Sequence[float], percentile: float) -> float | None:
    """The nearest-rank percentile of ``values`` (see the module docstring); None if empty."""
    if not values:
        return None
    if not 0 < percentile <= 100:
        raise ValueError("percentile must be in (0, 100]")
    ordered = sorted(values)
    rank = math.ceil(percentile / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def _share(minutes: Sequence[float], limit: float) -> float | None:
    if not minutes:
        return None
    return sum(1 for m in minutes if m <= limit) / len(minutes)


@dataclass(frozen=True)
class Window:
    """Which cases the figures count: created since, owned by these stations."""

    since: datetime | None
    stations: set[int | None] | None


def _of_stations(column: Any, stations: set[int | None] | None) -> Any:
    ids = [s for s in stations or () if s is not None]
    held = col(column).in_(ids)
    return or_(held, col(column).is_(None)) if stations and None in stations else held


def _window(query: Any, window: Window) -> Any:
    if window.since is not None:
        query = query.where(col(Case.created_at) >= window.since)
    if window.stations is not None:
        query = query.where(_of_stations(Case.station_id, window.stations))
    return query


async def _cases_by_outcome(session: AsyncSession, since: Window) -> dict[str, int]:
    """Open cases, and closed ones by outcome (a closed case with another outcome is left
    out of the four columns rather than miscounted)."""
    query = select(Case.status, Case.outcome, func.count()).group_by(
        col(Case.status), col(Case.outcome)
    )
    counts = dict.fromkeys(OUTCOMES, 0)
    for status, outcome, count in (await session.exec(_window(query, since))).all():
        key = CaseStatus.OPEN if status == CaseStatus.OPEN else outcome
        if key in counts:
            counts[key] += int(count)
    return counts


async def _found_minutes(session: AsyncSession, since: Window) -> tuple[float, ...]:
    query = select(Case.created_at, Case.closed_at).where(
        Case.status == CaseStatus.CLOSED,
        Case.outcome == CaseOutcome.FOUND,
        col(Case.closed_at).is_not(None),
    )
    rows = (await session.exec(_window(query, since))).all()
    return tuple(sorted(_minutes(created, closed) for created, closed in rows))


def _minutes(start: datetime, end: datetime) -> float:
    return (as_utc(end) - as_utc(start)).total_seconds() / 60


async def _sighting_count(session: AsyncSession, since: Window) -> int:
    query = select(func.count(col(Sighting.id))).join(Case, col(Case.id) == Sighting.case_id)
    return int((await session.exec(_window(query, since))).one())


async def _alerted_and_answered(session: AsyncSession, since: Window) -> tuple[int, int]:
    """Distinct groups alerted for the cases, and distinct groups with a ``checked_at``."""
    base = select(func.count(distinct(col(Alert.group_id)))).join(
        Case, col(Case.id) == Alert.case_id
    )
    alerted = (await session.exec(_window(base, since))).one()
    answered_query = base.where(col(Alert.checked_at).is_not(None))
    answered = (await session.exec(_window(answered_query, since))).one()
    return int(alerted), int(answered)


async def _approved_by_role(
    session: AsyncSession, stations: set[int | None] | None
) -> dict[str, int]:
    query = (
        select(Group.role, func.count())
        .where(Group.status == GroupStatus.APPROVED)
        .group_by(Group.role)
    )
    if stations is not None:
        query = query.where(_of_stations(Group.station_id, stations))
    counts: dict[str, int] = dict.fromkeys(ROLES, 0)
    for role, count in (await session.exec(query)).all():
        counts[role] = int(count)
    return counts


async def _groups_by_status(
    session: AsyncSession, stations: set[int | None] | None
) -> dict[str, int]:
    query = select(Group.status, func.count()).group_by(Group.status)
    if stations is not None:
        query = query.where(_of_stations(Group.station_id, stations))
    counts: dict[str, int] = dict.fromkeys(GROUP_STATUSES, 0)
    for status, count in (await session.exec(query)).all():
        counts[status] = int(count)
    return counts


# --------------------------------------------------------------------------------------- chart

WIDTH_PX, HEIGHT_PX, DPI = 800, 500, 100


def chart_png(
    figures: Figures, labels: Mapping[str, str] | None = None, language: str = "en"
) -> bytes:
    """An 800×500 PNG: cases by outcome (bars) beside the time-to-found histogram.

    ``labels`` overrides :data:`DEFAULT_LABELS` key by key (pass translated texts). For
    ``language`` "zh" a Chinese font is used when one is installed; when none is, the chart
    still renders with matplotlib's default font, and characters it lacks show as boxes.

    Uses matplotlib's object API with the Agg canvas directly: no pyplot, no global backend
    switch, nothing shared between calls, so it is safe in a running bot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    text = {**DEFAULT_LABELS, **(labels or {})}
    with _fonts(language), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*[Gg]lyph .* missing from.*")
        figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
        FigureCanvasAgg(figure)
        outcomes, found = figure.subplots(1, 2)
        _outcome_bars(outcomes, figures, text)
        _found_histogram(found, figures, text)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _outcome_bars(axes: Any, figures: Figures, text: Mapping[str, str]) -> None:
    counts = [figures.cases_by_outcome.get(key, 0) for key in OUTCOMES]
    colours = ["#f0ad4e", "#5cb85c", "#999999", "#5bc0de"]
    bars = axes.bar([text[key] for key in OUTCOMES], counts, color=colours)
    axes.bar_label(bars)
    axes.set_title(text["outcomes_title"])
    axes.set_ylabel(text["cases"])
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.tick_params(axis="x", labelrotation=15)


def _found_histogram(axes: Any, figures: Figures, text: Mapping[str, str]) -> None:
    axes.set_title(text["found_title"])
    axes.set_xlabel(text["minutes"])
    axes.set_ylabel(text["cases"])
    minutes = figures.found_minutes
    if not minutes:
        axes.text(0.5, 0.5, text["no_data"], ha="center", va="center", transform=axes.transAxes)
        axes.set_xticks([])
        axes.set_yticks([])
        return
    axes.hist(minutes, bins=_bins(minutes), color="#5cb85c", edgecolor="white")
    axes.axvline(FAST_MINUTES, color="#d9534f", linestyle="--", linewidth=1)
    axes.yaxis.get_major_locator().set_params(integer=True)


def _bins(minutes: Sequence[float]) -> list[float]:
    """10-minute bins from 0; wider bins once the longest search passes three hours, so there
    are never more than 18 bars."""
    top = max(max(minutes), 0.0)
    width = 10.0 if top <= 180 else math.ceil(top / 18 / 10) * 10.0
    count = max(1, math.ceil(top / width))
    return [index * width for index in range(count + 1)]


@contextmanager
def _fonts(language: str) -> Iterator[None]:
    """Put an installed Chinese font first for "zh" (matplotlib falls back glyph by glyph along
    the family list), leaving the global rcParams as they were."""
    from matplotlib import rc_context

    families = _installed_cjk_fonts() if language.startswith("zh") else []
    fallback = [*families, "DejaVu Sans"]
    with rc_context({"font.family": "sans-serif", "font.sans-serif": fallback}):
        yield


def _installed_cjk_fonts() -> list[str]:
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return [name for name in CJK_FONTS if name in installed]
