"""Forgetting on time: ``SEARCHBOT_RETENTION_DAYS`` after a case closes, everything personal
about it goes — photos' file ids, names, the phone, descriptions, places typed, sighting photos
and notes, who reported and who saw — while the anonymous figures (times, counts, outcome,
ring reached, a coarse position) stay for statistics.

On SQLite, deleted and overwritten rows are zeroed in the file (``secure_delete``, see
``db.create_engine``) and the write-ahead log is folded back and emptied after each purge, so
what was purged cannot be read from the database's files either.

People are forgotten too: a report or sighting left half-typed for a day is dropped with what it
held, and the name and username of someone the bot has not heard from for the whole retention
period go — unless they are an officer, are blocked, or have a case still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.services import Services
from searchbot.models import (
    Alert,
    AlertCheck,
    AuditEntry,
    Case,
    CaseStatus,
    Dialogue,
    ExitWatch,
    Officer,
    OutboxMessage,
    Person,
    Sighting,
    db,
)

COARSE_DECIMALS = 2  # ~1 km: enough for "where do we lose children", not for a doorstep
DRAFT_LIFETIME = timedelta(days=1)  # a dialogue untouched this long has been abandoned
BATCH = 500  # ids in one IN list: PostgreSQL takes at most 32,767 parameters a statement


@dataclass(frozen=True)
class Purge:
    """What a purge removed (or, dry, would remove)."""

    cases: list[int]
    sightings: int
    messages: int
    drafts: int = 0
    people: int = 0


async def purge(services: Services, dry_run: bool = False) -> Purge:
    """Purge every closed case past the retention period that still holds personal data, the
    abandoned drafts and the people long quiet. Cases go in one transaction, people and drafts
    in the next, so a failure in the second never holds back the first."""
    now = services.now()
    cutoff = now - timedelta(days=services.settings.retention_days)
    stale_draft = col(Dialogue.updated_at) < now - DRAFT_LIFETIME
    quiet = _quiet_people(services, cutoff, now - DRAFT_LIFETIME)
    async with services.sessions() as session:
        query = select(Case).where(
            Case.status == CaseStatus.CLOSED,
            col(Case.closed_at) < cutoff,
            col(Case.purged_at).is_(None),
        )
        cases = list((await session.exec(query)).all())
        ids = [case.id for case in cases if case.id is not None]
        result = Purge(
            ids,
            await _count(session, Sighting, ids),
            await _count(session, OutboxMessage, ids),
            await _rows(session, Dialogue, stale_draft),
            await _rows(session, Person, *quiet),
        )
        if dry_run:
            return result
        if ids:
            for start in range(0, len(cases), BATCH):
                await _forget_cases(session, services, cases[start : start + BATCH])
            await services.audit.record(session, None, "purge", None, cases=ids)
            await session.commit()
            await db.fold_journal(session)
    if result.drafts or result.people:
        async with services.sessions() as session:
            # by rule, not by a list of ids: somebody who wrote meanwhile no longer matches
            await session.exec(delete(Person).where(*quiet))  # type: ignore[call-overload]
            await session.exec(delete(Dialogue).where(stale_draft))  # type: ignore[call-overload]
            await services.audit.record(
                session, None, "forget", None, drafts=result.drafts, people=result.people
            )
            await session.commit()
            await db.fold_journal(session)
    return result


def _quiet_people(
    services: Services, cutoff: datetime, draft_cutoff: datetime
) -> tuple[ColumnElement[bool], ...]:
    """Who the bot may forget: not heard from since ``cutoff``, not an admin or officer, not
    blocked (the block must outlive the quiet), no open case, no draft still in progress."""
    open_reporters = select(Case.reporter_user_id).where(Case.status == CaseStatus.OPEN)
    writing = select(Dialogue.user_id).where(col(Dialogue.updated_at) >= draft_cutoff)
    officers = select(Officer.user_id).where(Officer.active == True)  # noqa: E712
    return (
        col(Person.updated_at) < cutoff,
        col(Person.blocked) == False,  # noqa: E712
        col(Person.user_id).not_in(list(services.settings.admin_ids)),
        col(Person.user_id).not_in(officers),
        col(Person.user_id).not_in(open_reporters),
        col(Person.user_id).not_in(writing),
    )


async def _rows(
    session: AsyncSession, model: type[Person] | type[Dialogue], *where: ColumnElement[bool]
) -> int:
    query = select(func.count()).select_from(model).where(*where)
    return int((await session.exec(query)).one())  # type: ignore[call-overload]


async def _forget_cases(session: AsyncSession, services: Services, cases: list[Case]) -> None:
    ids = [case.id for case in cases if case.id is not None]
    await _forget_audit_people(session, cases)  # first: it needs who reported and who saw
    for case in cases:
        _forget_case(case, services)
        session.add(case)
    await _forget_sightings(session, ids)
    await session.exec(  # type: ignore[call-overload]
        update(Alert).where(col(Alert.case_id).in_(ids)).values(checked_by=None)
    )
    # who pressed "Checked" goes; the group's figure (the alert's checked_at) stays
    await session.exec(delete(AlertCheck).where(col(AlertCheck.case_id).in_(ids)))  # type: ignore[call-overload]
    # who pressed "Exit watched" too; which group watched which exit, and when, stays
    await session.exec(  # type: ignore[call-overload]
        update(ExitWatch).where(col(ExitWatch.case_id).in_(ids)).values(user_id=0)
    )
    await session.exec(delete(OutboxMessage).where(col(OutboxMessage.case_id).in_(ids)))  # type: ignore[call-overload]


async def _count(
    session: AsyncSession, model: type[Sighting] | type[OutboxMessage], ids: list[int]
) -> int:
    total = 0
    for start in range(0, len(ids), BATCH):
        query = select(func.count()).where(col(model.case_id).in_(ids[start : start + BATCH]))
        total += int((await session.exec(query)).one())  # type: ignore[call-overload]
    return total


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
PUBLIC_ACTIONS = ("report", "sighting", "checked", "exit_watched")
# Detail values that name no one (an outcome, how a sighting came in); any other text goes.
PLAIN_DETAILS = ("outcome", "source")


async def _forget_audit_people(session: AsyncSession, cases: list[Case]) -> None:
    """Audit entries keep what was done and when, and which officer did it; not who the family
    or a sighter were (whatever the action: a family closing its own case is a family), nor
    notes or other free text."""
    ids = [case.id for case in cases if case.id is not None]
    sighters = select(Sighting.case_id, Sighting.reporter_user_id).where(
        col(Sighting.case_id).in_(ids)
    )
    private = {(case.id, case.reporter_user_id) for case in cases}
    private |= {(case_id, user_id) for case_id, user_id in (await session.exec(sighters)).all()}
    entries = await session.exec(select(AuditEntry).where(col(AuditEntry.case_id).in_(ids)))
    for entry in entries.all():
        if entry.action in PUBLIC_ACTIONS or (entry.case_id, entry.actor_user_id) in private:
            entry.actor_user_id = None
        entry.detail = {key: _plain(key, value) for key, value in entry.detail.items()}
        session.add(entry)


def _plain(key: str, value: object) -> object:
    if isinstance(value, bool | int | float) or value is None:
        return value
    return value if key in PLAIN_DETAILS and isinstance(value, str) else None
