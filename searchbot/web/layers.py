"""What the command room draws for one case, as plain data: the last-seen point and the
re-centred point, the rings (each around the centre it went out from, with its radius and
time), the groups in range coloured by state, the blind-spot cells, the sightings in time
order. The web page, the JSON API and the ``/map`` picture all draw from this one model.

Two audiences: officers see the case card as the chat shows it; the station's screen (a link
anyone in the room can read) sees only what a public alert shows, never a phone, a reporter's
name or id, nor who saw the child.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases import coverage
from searchbot.domain.clock import as_utc, local_hhmm, minutes_between
from searchbot.domain.grid import bounding_box, distance_m
from searchbot.models import Alert, AuditEntry, Case, Group, GroupStatus, Sighting
from searchbot.models import queries as q
from searchbot.settings import Settings
from searchbot.web import blind
from searchbot.words.cards import (
    age_text,
    case_card,
    case_status,
    place_text,
    public_case,
    sex_text,
)
from searchbot.words.texts import Raw, ref, say

GROUP_STATES = ("alerted", "checked", "waiting", "gone")


@dataclass(frozen=True)
class RingLayer:
    number: int  # 1-based, as officers count
    radius_m: int
    lat: float  # the centre it went out from (a credible sighting moves later rings)
    lon: float
    sent_at: str | None
    time: str | None  # sent_at on the station's clock, as the chat shows times
    alerted: int
    checked: int


@dataclass(frozen=True)
class GroupLayer:
    id: int
    title: str  # officers only, and only while approved: see ``_title``
    role: str
    state: str  # alerted | checked | waiting (not yet alerted) | gone
    lat: float
    lon: float
    distance_m: int


@dataclass(frozen=True)
class SightingLayer:
    id: int
    number: int  # in the order they were seen
    lat: float | None
    lon: float | None
    place: str
    seen_at: str
    minutes: int
    credible: bool | None
    note: str | None = None  # officers only: free text may name people


@dataclass
class CaseLayers:
    id: int
    ref: str
    status: str
    outcome: str | None
    stage: int  # 1-based; 0 while the first ring waits for an officer
    stages: int
    verified: bool
    minutes: int
    last_seen: tuple[float, float]
    centre: tuple[float, float]
    card: str  # HTML as the chat shows it (officers) or the public summary (screen)
    status_line: str
    counts: dict[str, int]
    rings: list[RingLayer] = field(default_factory=list)
    groups: list[GroupLayer] = field(default_factory=list)
    blind_spots: list[dict[str, Any]] = field(default_factory=list)
    sightings: list[SightingLayer] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain data for the API. The blind-spot layer goes as it is (``blind.Drawn``, shared
        by every viewer of the case): copying its ~10,000 corners per fetch held the loop."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("rings", "groups", "sightings"):
            data[name] = [asdict(item) for item in data[name]]
        return data


async def case_summary(
    settings: Settings,
    session: AsyncSession,
    case: Case,
    lang: str,
    now: datetime,
    *,
    personal: bool,
) -> dict[str, Any]:
    """One line of the open-cases list (no personal field: the screen lists cases too; its
    place is the public one, contact details out)."""
    alerted, checked, sightings = await q.case_counts(session, case.id or 0)
    return {
        "id": case.id,
        "ref": ref(case.id or 0),
        "age": age_text(case.age, lang),
        "sex": sex_text(case.sex, lang),
        "place": place_text(case if personal else public_case(case, lang)),
        "minutes": minutes_between(case.created_at, now),
        "stage": case.stage + 1,
        "stages": len(settings.escalation),
        "verified": case.verified_at is not None,
        "counts": {"alerted": alerted, "checked": checked, "sightings": sightings},
    }


async def of_case(
    settings: Settings,
    session: AsyncSession,
    case: Case,
    lang: str,
    now: datetime,
    *,
    personal: bool,
) -> CaseLayers:
    """Every layer of ``case``; ``personal`` is False for the station's screen."""
    case_id = case.id or 0
    alerted, checked, seen = await q.case_counts(session, case_id)
    entries = await _audit(session, case_id)
    sightings = await _sightings(session, case_id, now, personal)
    status = case_status(case, lang, settings, alerted, checked, seen)
    layers = CaseLayers(
        id=case_id,
        ref=ref(case_id),
        status=case.status,
        outcome=case.outcome,
        stage=case.stage + 1,
        stages=len(settings.escalation),
        verified=case.verified_at is not None,
        minutes=minutes_between(case.created_at, now),
        last_seen=(case.lat, case.lon),
        centre=(case.center_lat, case.center_lon),
        card=case_card(case, lang, now) if personal else _public_card(case, lang, now),
        status_line=status,
        counts={"alerted": alerted, "checked": checked, "sightings": seen},
        rings=await _rings(settings, session, case, entries),
        groups=await _groups(settings, session, case, personal),
        blind_spots=await _blind_spots(settings, session, case),
        sightings=sightings,
        history=[_history_line(e, personal) for e in entries[-12:]],
    )
    return layers


def _public_card(case: Case, lang: str, now: datetime) -> str:
    """What a public alert shows of the case: no phone, no name, and the family's words with
    contact details taken out by the groups' redaction, in the screen's language."""
    public = public_case(case, lang)
    return say(
        lang,
        "room_screen_card",
        ref=ref(case.id or 0),
        age=Raw(age_text(case.age, lang)),
        sex=Raw(sex_text(case.sex, lang)),
        description=public.description or "",
        place=place_text(public),
        time=local_hhmm(case.last_seen_at),
        minutes=minutes_between(case.last_seen_at, now),
    )


async def _audit(session: AsyncSession, case_id: int) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.case_id == case_id).order_by(col(AuditEntry.id))
    return list((await session.exec(query)).all())


async def _rings(
    settings: Settings, session: AsyncSession, case: Case, entries: list[AuditEntry]
) -> list[RingLayer]:
    """Replay the log: a ring goes out around the centre of that moment; a credible sighting
    with a place moves the centre for the rings after it."""
    counts = await coverage._counts_by_stage(session, case.id or 0)
    centre = (case.lat, case.lon)
    sent: dict[int, tuple[datetime, tuple[float, float]]] = {}
    for entry in entries:
        if entry.action == "stage" and isinstance(entry.detail.get("stage"), int):
            sent.setdefault(entry.detail["stage"], (entry.at, centre))
        elif entry.action == "sighting_judged" and entry.detail.get("credible"):
            seen = await session.get(Sighting, entry.detail.get("sighting"))
            if seen is not None and seen.lat is not None and seen.lon is not None:
                centre = (seen.lat, seen.lon)
    rings = []
    for index in range(case.stage + 1):
        at, (lat, lon) = sent.get(index, (None, (case.center_lat, case.center_lon)))
        alerted, checked = counts.get(index, (0, 0))
        rings.append(
            RingLayer(
                number=index + 1,
                radius_m=settings.escalation[index].radius_m,
                lat=lat,
                lon=lon,
                sent_at=as_utc(at).isoformat() if at else None,
                time=local_hhmm(at) if at else None,
                alerted=alerted,
                checked=checked,
            )
        )
    return rings


async def _groups(
    settings: Settings, session: AsyncSession, case: Case, personal: bool
) -> list[GroupLayer]:
    """The groups the whole search reaches (the widest ring around the centre), and every group
    alerted for the case wherever it is."""
    centre = (case.center_lat, case.center_lon)
    widest = settings.escalation[-1].radius_m
    south, north, west, east = bounding_box(*centre, widest)
    alerts = {
        a.group_id: a
        for a in (await session.exec(select(Alert).where(Alert.case_id == case.id))).all()
    }
    nearby = select(Group).where(
        col(Group.status).in_((GroupStatus.APPROVED, GroupStatus.INACTIVE)),
        col(Group.lat).between(south, north),
        col(Group.lon).between(west, east),
    )
    found = {g.id: g for g in (await session.exec(nearby)).all()}
    if alerts:
        alerted = select(Group).where(col(Group.id).in_(list(alerts)))
        found |= {g.id: g for g in (await session.exec(alerted)).all()}
    layers = []
    for group in found.values():
        if group.lat is None or group.lon is None or group.id is None:
            continue
        away = distance_m(centre, (group.lat, group.lon))
        alert = alerts.get(group.id)
        if alert is None and away > widest:
            continue
        layers.append(
            GroupLayer(
                group.id,
                _title(group, personal),
                group.role,
                _state(group, alert),
                group.lat,
                group.lon,
                int(away),
            )  # fmt: skip
        )
    layers.sort(key=lambda g: g.distance_m)
    return layers


def _title(group: Group, personal: bool) -> str:
    """A group's title as an officer approved it; empty on the station's screen (its role
    is drawn instead: a wall anyone in the room sees is no list of who helps where by name) and
    for a group not approved now. A title is set at ``/register``, so a group that registered
    again under a new one shows it only once an officer has approved that request."""
    return group.title if personal and group.status == GroupStatus.APPROVED else ""


def _state(group: Group, alert: Alert | None) -> str:
    if alert is not None and alert.checked_at is not None:
        return "checked"
    if group.status == GroupStatus.INACTIVE:
        return "gone"
    return "alerted" if alert is not None else "waiting"


async def _blind_spots(
    settings: Settings, session: AsyncSession, case: Case
) -> list[dict[str, Any]]:
    if case.stage < 0:
        return []
    radius = settings.escalation[case.stage].radius_m
    return await blind.layer(session, (case.center_lat, case.center_lon), radius)


async def _sightings(
    session: AsyncSession, case_id: int, now: datetime, personal: bool
) -> list[SightingLayer]:
    query = (
        select(Sighting)
        .where(Sighting.case_id == case_id)
        .order_by(col(Sighting.seen_at), col(Sighting.id))
    )
    rows = (await session.exec(query)).all()
    return [
        SightingLayer(
            id=s.id or 0,
            number=number,
            lat=s.lat,
            lon=s.lon,
            place=(s.place_text or "")[:200] if personal else "",  # typed by the sighter
            seen_at=as_utc(s.seen_at).isoformat(),
            minutes=minutes_between(s.seen_at, now),
            credible=s.credible,
            note=s.note if personal else None,
        )
        for number, s in enumerate(rows, start=1)
    ]


def _history_line(entry: AuditEntry, personal: bool) -> dict[str, Any]:
    """A log line; who acted only for officers (a report's actor is the family)."""
    stage = entry.detail.get("stage")
    line: dict[str, Any] = {
        "at": as_utc(entry.at).isoformat(),
        "time": local_hhmm(entry.at),
        "action": entry.action + (f" {stage + 1}" if isinstance(stage, int) else ""),
    }
    if personal and entry.actor_user_id:
        line["actor"] = entry.actor_user_id
    return line
