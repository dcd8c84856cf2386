"""Forgetting on time: ``SEARCHBOT_RETENTION_DAYS`` after a case closes, everything personal
about it goes — photos' file ids, names, the phone, descriptions, places typed, sighting photos
and notes, who reported and who saw — while the anonymous figures (times, counts, outcome,
ring reached, a coarse position) stay for statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Alert, AuditEntry, Case, OutboxMessage, Sighting
from searchbot.services import Services

COARSE_DECIMALS = 2  # ~1 km: enough for "where do we lose children", not for a doorstep


@dataclass(frozen=True)
class Purge:
    """What a purge removed (or, dry, would remove)."""

    cases: list[int]
    sightings: int
    messages: int


async def purge(services: Services, dry_run: bool = False) -> Purge:
    """Purge every closed case past the retention period that still holds personal data."""
    cutoff = services.now() - timedelta(days=services.settings.retention_days)
    async with services.sessions() as session:
        query = select(Case).where(
            Case.status == "closed",
            col(Case.closed_at) < cutoff,
            col(Case.purged_at).is_(None),
        )
        cases = list((await session.exec(query)).all())
        ids = [case.id for case in cases if case.id is not None]
        sightings = await _count(session, Sighting, ids)
        messages = await _count(session, OutboxMessage, ids)
        if dry_run or not ids:
            return Purge(ids, sightings, messages)
        for case in cases:
            _forget_case(case, services)
            session.add(case)
        await _forget_sightings(session, ids)
        await session.exec(  # type: ignore[call-overload]
            update(Alert).where(col(Alert.case_id).in_(ids)).values(checked_by=None)
        )
        await session.exec(delete(OutboxMessage).where(col(OutboxMessage.case_id).in_(ids)))  # type: ignore[call-overload]
        await _forget_audit_people(session, ids)
        await services.audit(session, None, "purge", None, cases=ids)
        await session.commit()
    return Purge(ids, sightings, messages)


async def _count(
    session: AsyncSession, model: type[Sighting] | type[OutboxMessage], ids: list[int]
) -> int:
    if not ids:
        return 0
    query = select(func.count()).where(col(model.case_id).in_(ids))
    return int((await session.exec(query)).one())  # type: ignore[call-overload]


def _forget_case(case: Case, services: Services) -> None:
    case.name = case.description = case.contact = case.place_text = case.close_note = None
    case.photo_file_ids = []
    case.reporter_user_id = case.reporter_chat_id = 0
    case.closed_by = case.verified_by = None
    case.lat, case.lon = round(case.lat, COARSE_DECIMALS), round(case.lon, COARSE_DECIMALS)
    case.center_lat = round(case.center_lat, COARSE_DECIMALS)
    case.center_lon = round(case.center_lon, COARSE_DECIMALS)
    case.purged_at = services.now()


async def _forget_sightings(session: AsyncSession, ids: list[int]) -> None:
    await session.exec(  # type: ignore[call-overload]
        update(Sighting)
        .where(col(Sighting.case_id).in_(ids))
        .values(
            reporter_user_id=0, reporter_name=None, contact=None, group_chat_id=None, place_text=None,
            photo_file_id=None, note=None, lat=None, lon=None, judged_by=None,
        )
        .execution_options(synchronize_session=False)
    )  # fmt: skip


# Actions of the family and of passers-by; officers' actions keep their actor (accountability).
PUBLIC_ACTIONS = ("report", "sighting", "checked")


async def _forget_audit_people(session: AsyncSession, ids: list[int]) -> None:
    """Audit entries keep what officers did, not who the family or a sighter were, nor notes."""
    entries = await session.exec(select(AuditEntry).where(col(AuditEntry.case_id).in_(ids)))
    for entry in entries.all():
        if entry.action in PUBLIC_ACTIONS:
            entry.actor_user_id = None
        if "note" in entry.detail:
            entry.detail = {**entry.detail, "note": None}
        session.add(entry)
