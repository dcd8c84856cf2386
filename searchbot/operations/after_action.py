"""The after-action report: one page for the officers when a case closes, and a text file in
``/export N``.

It is read back from what the search left behind — the audit log (report, verification, each
ring, the first sighting, exits watched, the match, the closing), the alerts (who was alerted,
who checked) and the exits watched — so it says what happened, not what was meant to.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.domain.broadcast import cost_of, stars_text
from searchbot.domain.clock import as_utc, local_hhmm, minutes_between
from searchbot.models import Alert, AuditEntry, Case, CaseOutcome, Group, GroupRole
from searchbot.settings import Settings
from searchbot.words.cards import clip, distance_text
from searchbot.words.texts import Raw, ref, say

ROLES = tuple(GroupRole)
TITLES_SHOWN = 10
TIMELINE_SHOWN = 40  # the page must fit one Telegram message
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Event:
    """One timeline entry: when, and its message id and values."""

    at: datetime
    key: str
    values: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class AfterAction:
    case: Case
    timeline: list[Event]
    alerted: Counter[str]
    checked: list[str]  # titles of the groups that checked, first first
    exits: list[str]
    sightings: int


async def build(session: AsyncSession, case_id: int, settings: Settings) -> AfterAction | None:
    """What the search of ``case_id`` did, from its audit log, alerts and exits; None if no
    such case."""
    case = await session.get(Case, case_id)
    if case is None:
        return None
    query = (
        select(AuditEntry)
        .where(AuditEntry.case_id == case_id)
        .order_by(col(AuditEntry.at), col(AuditEntry.id))
    )
    entries = (await session.exec(query)).all()
    alerts = (
        await session.exec(
            select(Alert, Group)
            .join(Group, col(Group.id) == col(Alert.group_id))
            .where(Alert.case_id == case_id)
            .order_by(col(Alert.checked_at), col(Alert.id))
        )
    ).all()
    checked = [g.title for a, g in alerts if a.checked_at is not None]
    timeline = _timeline(entries, settings)
    exits = [str(e.values["exit"]) for e in timeline if e.key == "aar_exit"]
    sightings = sum(1 for entry in entries if entry.action == "sighting")
    return AfterAction(case, timeline, Counter(g.role for _, g in alerts), checked, exits,
                       sightings)  # fmt: skip


def _timeline(entries: Sequence[AuditEntry], settings: Settings) -> list[Event]:
    stages = settings.escalation
    events: list[Event] = []
    first_sighting = True
    for entry in entries:
        at, detail = as_utc(entry.at), entry.detail
        if entry.action == "report":
            events.append(Event(at, "aar_report"))
        elif entry.action == "verify":
            events.append(Event(at, "aar_verify"))
        elif entry.action == "stage" and isinstance(detail.get("stage"), int):
            index = int(detail["stage"])
            radius = stages[min(index, len(stages) - 1)].radius_m
            events.append(Event(at, "aar_stage", {"stage": index + 1, "radius": radius,
                                                  "groups": detail.get("groups", 0)}))  # fmt: skip
        elif entry.action == "sighting" and first_sighting:
            first_sighting = False
            events.append(Event(at, "aar_sighting"))
        elif entry.action == "exit_watched":
            events.append(Event(at, "aar_exit", {"exit": detail.get("exit", "?")}))
        elif entry.action == "match":
            events.append(Event(at, "aar_match", {"fref": f"F{detail.get('found')}"}))
        elif entry.action == "close":
            events.append(Event(at, "aar_close", {"outcome": detail.get("outcome", "?")}))
    return events


def render(report: AfterAction, lang: str) -> str:
    """The page, in HTML for Telegram."""
    case = report.case
    start = as_utc(case.created_at)
    lines = [say(lang, "aar_title", ref=ref(case.id or 0),
                 outcome=say(lang, f"outcome_{case.outcome}") if case.outcome else "—"),
             say(lang, "aar_timeline")]  # fmt: skip
    for event in report.timeline[:TIMELINE_SHOWN]:
        lines.append(
            say(
                lang,
                "aar_line",
                time=local_hhmm(event.at),
                minutes=minutes_between(start, event.at),
                what=Raw(_what(event, case, lang)),
            )  # fmt: skip
        )
    roles = {role: report.alerted.get(role, 0) for role in ROLES}
    lines.append(say(lang, "aar_alerted", total=sum(report.alerted.values()), **roles))
    titles = ", ".join(clip(t, 40) for t in report.checked[:TITLES_SHOWN])
    if len(report.checked) > TITLES_SHOWN:
        titles += " …"
    lines.append(say(lang, "aar_checked", count=len(report.checked), titles=titles or "—"))
    lines.append(say(lang, "aar_exits", names=", ".join(report.exits) or "—"))
    lines.append(say(lang, "aar_sightings", count=report.sightings))
    if case.paid_messages:
        stars = stars_text(cost_of(case.paid_messages))
        lines.append(say(lang, "aar_paid", count=case.paid_messages, stars=stars))
    if case.outcome == CaseOutcome.FOUND and case.closed_at is not None:
        lines.append(
            say(lang, "aar_found_in", minutes=minutes_between(start, as_utc(case.closed_at)))
        )
    return "\n".join(lines)


def _what(event: Event, case: Case, lang: str) -> str:
    values = dict(event.values)
    if event.key == "aar_report":
        values["place"] = clip(case.place_text or f"{case.lat:.5f}, {case.lon:.5f}", 120)
    if event.key == "aar_stage":
        values["radius"] = Raw(distance_text(float(str(values["radius"])), lang))
    if event.key == "aar_close":
        values["outcome"] = say(lang, f"outcome_{values['outcome']}")
    return say(lang, event.key, **values)


def plain_text(markup: str) -> str:
    """The page as a text file: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", markup)) + "\n"


async def export_text(session: AsyncSession, case_id: int, settings: Settings) -> str | None:
    """The page as text in the station's language, for ``/export`` and ``searchbot export``."""
    report = await build(session, case_id, settings)
    return plain_text(render(report, settings.language)) if report else None
