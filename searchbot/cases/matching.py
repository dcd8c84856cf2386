"""Could this found child be that missing one? A score from where and when the child was last
seen, and age and sex, so the officers see the likeliest open cases first.

A child walks about 1 km in 15 minutes, so the distance a found child may plausibly be from a
last-seen place grows with the minutes since; an age told by a stranger is a guess (a few years
either way), and an unknown sex or age neither excludes nor confirms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.domain.clock import as_utc
from searchbot.domain.grid import distance_m
from searchbot.models import Case, CaseStatus, FoundReport, FoundReportStatus

BASE_M = 500.0  # a child found this close is plausible whatever the time
WALK_M_PER_MIN = 80.0  # ~1 km in 12-15 minutes, with a margin
FAR_M = 10_000.0  # beyond the reach of any one search
AGE_SLACK = 4  # years: a finder's guess against a family's fact
SINCE_MAX = timedelta(days=1)
EARLY = timedelta(minutes=30)  # a found report a little before the last-seen time (clocks, guesses)
CANDIDATES_SHOWN = 3
WEIGHTS = {"distance": 0.5, "time": 0.15, "age": 0.2, "sex": 0.15}


@dataclass(frozen=True)
class Person:
    """What matching compares of a missing or a found child."""

    lat: float
    lon: float
    at: datetime  # last seen (missing) or reported (found)
    age: int | None
    sex: str | None  # m | f | u | None


@dataclass(frozen=True)
class Candidate:
    case: Case
    found: FoundReport
    score: float
    distance_m: float
    minutes: int


def score(missing: Person, found: Person) -> float | None:
    """0..1 (higher is likelier), or None when they cannot be the same child: the sexes
    differ, the ages differ by more than a guess, the place is out of reach in the time, or
    the child was found long before they went missing."""
    since = as_utc(found.at) - as_utc(missing.at)
    if since < -EARLY or since > SINCE_MAX:
        return None
    minutes = max(since.total_seconds() / 60, 0.0)
    reach = min(BASE_M + WALK_M_PER_MIN * minutes, FAR_M)
    metres = distance_m((missing.lat, missing.lon), (found.lat, found.lon))
    if metres > 2 * reach:
        return None
    # closer and sooner are likelier, whatever the reach: halves at 500 m and at an hour
    parts = {"distance": BASE_M / (BASE_M + metres), "time": 60 / (60 + minutes)}
    if missing.age is not None and found.age is not None:
        gap = abs(missing.age - found.age)
        if gap > AGE_SLACK:
            return None
        parts["age"] = 1 - gap / (AGE_SLACK + 1)
    else:
        parts["age"] = 0.5
    known = {"m", "f"}
    if missing.sex in known and found.sex in known:
        if missing.sex != found.sex:
            return None
        parts["sex"] = 1.0
    else:
        parts["sex"] = 0.5
    return round(sum(WEIGHTS[name] * value for name, value in parts.items()), 4)


def missing_of(case: Case) -> Person:
    return Person(case.lat, case.lon, case.last_seen_at, case.age, case.sex)


def found_of(report: FoundReport) -> Person:
    return Person(report.lat, report.lon, report.created_at, report.age, report.sex)


def _candidate(case: Case, report: FoundReport) -> Candidate | None:
    value = score(missing_of(case), found_of(report))
    if value is None:
        return None
    metres = distance_m((case.lat, case.lon), (report.lat, report.lon))
    minutes = max(
        0, int((as_utc(report.created_at) - as_utc(case.last_seen_at)).total_seconds() // 60)
    )
    return Candidate(case, report, value, metres, minutes)


def ranked(pairs: Sequence[tuple[Case, FoundReport]]) -> list[Candidate]:
    """The pairs that could match, likeliest first."""
    found = [c for case, report in pairs if (c := _candidate(case, report)) is not None]
    return sorted(found, key=lambda c: (-c.score, c.distance_m))


async def cases_for(session: AsyncSession, report: FoundReport) -> list[Candidate]:
    """Open cases that could be this found child, likeliest first (at most a few)."""
    cases = (await session.exec(select(Case).where(Case.status == CaseStatus.OPEN))).all()
    return ranked([(case, report) for case in cases])[:CANDIDATES_SHOWN]


async def found_for(session: AsyncSession, case: Case) -> list[Candidate]:
    """Open found-child reports that could be this missing child, likeliest first."""
    query = (
        select(FoundReport)
        .where(FoundReport.status == FoundReportStatus.OPEN)
        .order_by(col(FoundReport.id))
    )
    reports = (await session.exec(query)).all()
    return ranked([(case, report) for report in reports])[:CANDIDATES_SHOWN]
