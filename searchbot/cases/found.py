"""A child found alone: the other end of a lost child.

Whoever is with the child (a guard, a shopkeeper, a passer-by) answers a few questions in
private; the officers get the report at once, at the top of their channel, with the open cases
that could be this child and a **Match #N** button for each. A family's new report is compared
with the found children still waiting the same way. A match tells the family where to go (never
who found the child), tells the finder the police are coming, and gives the officer a handover
checklist whose ticks go to the audit log. Only officers ever see the found child's photo.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, delete, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases import answers
from searchbot.cases import dialogue as dlg
from searchbot.cases.dialogue import Flow, Step
from searchbot.cases.services import Services
from searchbot.domain.actors import Actor
from searchbot.domain.clock import local_hhmm
from searchbot.domain.events import ChildFound, ChildMatched
from searchbot.domain.messages import Answer, Button, Out
from searchbot.models import (
    AuditEntry,
    Case,
    CaseStatus,
    Dialogue,
    FoundReport,
    FoundReportStatus,
    GroupStatus,
    OutboxMessage,
    Person,
    db,
)
from searchbot.models import queries as q
from searchbot.words.buttons import Close, TickCheck
from searchbot.words.cards import fref
from searchbot.words.texts import ref, say

AGE_MAX = 18  # a found child: older than this is not a child found alone
DESCRIPTION_MAX = 1000
WITH_MAX = 200
CASE_SHOWN = 300  # a case's description beside a found child's card
CHECKLIST = ("recognises", "id", "photo")  # the child knows the adult; their ID; a photo together
TOP = -1.0  # outbox rank: a found child goes ahead of every other officer message


# --- the finder's dialogue -------------------------------------------------------------------


async def begin(services: Services, actor: Actor, group_chat_id: int | None = None) -> Answer:
    """``/found`` in private, or the group's **Found a child** deep link."""
    lang = actor.language
    async with services.sessions() as session:
        person = await session.get(Person, actor.user_id)
        if person is not None and person.blocked:
            return Answer().say(say(lang, "blocked_user"))
        if await _over_limit(services, session, actor):
            return Answer().say(say(lang, "report_limit"))
        group = await q.group_by_chat(session, group_chat_id) if group_chat_id else None
        chat = group.chat_id if group is not None and group.status == GroupStatus.APPROVED else None
        answer = await dlg.start(services, session, actor, FLOW, group=chat)
        await session.commit()
    return answer


async def _over_limit(services: Services, session: AsyncSession, actor: Actor) -> bool:
    """As many found-child reports an hour as missing-person reports (officers exempt)."""
    since = services.now() - timedelta(hours=1)
    query = select(func.count()).where(
        FoundReport.reporter_user_id == actor.user_id, col(FoundReport.created_at) >= since
    )
    recent = int((await session.exec(query)).one())  # type: ignore[call-overload]
    limit = services.settings.reports_per_hour
    return recent >= limit and not await services.officers.is_officer(session, actor)


async def group_prompt(services: Services, actor: Actor) -> Answer:
    """``/found`` in a group: a button that opens the report in a private chat (a child's
    details do not belong in a group)."""
    async with services.sessions() as session:
        group = await q.group_by_chat(session, actor.chat_id)
    lang = group.language if group else actor.language
    link = services.links.deep_link(f"found_{actor.chat_id}")
    button = Button(say(lang, "btn_found_child"), url=link)
    return Answer().say(say(lang, "found_group_prompt"), buttons=((button,),))


async def submit(services: Services, actor: Actor, dialogue: Dialogue) -> Answer:
    """After the last answer: the report goes to the officers with its candidates, in one
    transaction."""
    data = dialogue.data
    label, lat, lon = data["place"]
    report = FoundReport(
        reporter_user_id=actor.user_id,
        reporter_chat_id=actor.chat_id,
        reporter_name=actor.name[:128],
        group_chat_id=data.get("group"),
        language=actor.language,
        age=data.get("age"),
        sex=data.get("sex"),
        description=data.get("description"),
        photo_file_id=data.get("photo"),
        place_text=str(label)[:512],
        lat=lat,
        lon=lon,
        with_whom=data.get("with_whom"),
        contact=data.get("contact"),
        created_at=services.now(),
    )
    async with services.sessions() as session:
        session.add(report)
        await session.flush()
        assert report.id is not None
        await services.audit.record(session, actor.user_id, "found", None, found=report.id)
        await services.publish(session, ChildFound(report.id))
        await session.delete(await session.merge(dialogue))
        await session.commit()
    return Answer().say(say(actor.language, "found_sent", ref=fref(report.id)))


# The finder's dialogue: photo -> age -> sex -> description -> place -> who is with them ->
# phone -> to the officers.
FLOW = Flow(
    "found",
    (
        Step("photo", "photo", "found_ask_photo", answers.photo, skip=lambda services: None,
             buttons=answers.skip_button),
        Step("age", "age", "found_ask_age", answers.age(AGE_MAX), skip=lambda services: None,
             buttons=answers.skip_button, reask={"age_expected": "found_age_expected"}),
        Step("sex", "sex", "ask_sex", answers.sex, buttons=answers.sex_buttons),
        Step("description", "description", "found_ask_description",
             answers.words(DESCRIPTION_MAX), values={"max": DESCRIPTION_MAX},
             reask={"text_expected": "found_ask_description"}),  # the question says the limit
        Step("place", "place", "found_ask_place", answers.place(),
             keep=lambda spot: {"place": list(spot)}, reask={"place_expected": "found_ask_place"}),
        Step("with", "with_whom", "found_ask_with", answers.words(WITH_MAX),
             values={"max": WITH_MAX}, reask={"text_expected": "found_ask_with"}),
        Step("contact", "contact", "found_ask_contact", answers.phone,
             skip=lambda services: None, buttons=answers.skip_button),
    ),
    finish=submit,
)  # fmt: skip


# --- the match and the handover --------------------------------------------------------------


async def match(services: Services, actor: Actor, found_id: int, case_id: int) -> Answer:
    """**Match #N**: the family is sent to the child, the finder told the police are coming."""
    lang = actor.language
    async with services.sessions() as session:
        if not await services.officers.is_officer(session, actor):
            return Answer(toast=say(lang, "officers_only"))
        report = await session.get(FoundReport, found_id)
        case = await session.get(Case, case_id)
        if report is None or case is None:
            return Answer(toast=say(lang, "stale_button"))
        if case.status != CaseStatus.OPEN:
            return Answer(toast=say(lang, "case_closed_already", ref=ref(case_id)))
        if report.status != FoundReportStatus.OPEN or not await _claim(
            session, report, FoundReportStatus.OPEN, FoundReportStatus.MATCHED
        ):
            return Answer(toast=say(lang, "match_already", fref=fref(found_id)))
        report.status, report.matched_case_id = FoundReportStatus.MATCHED, case_id
        report.matched_at, report.matched_by = services.now(), actor.user_id
        session.add(report)
        await services.audit.record(session, actor.user_id, "match", case_id, found=found_id)
        matched = ChildMatched(found_id, case_id, f"{actor.name or actor.user_id}")
        await services.publish(session, matched)
        await session.commit()
    return Answer(toast=say(lang, "matched_toast", ref=ref(case_id), fref=fref(found_id)))


async def _claim(
    session: AsyncSession, report: FoundReport, old: FoundReportStatus, new: FoundReportStatus
) -> bool:
    """Move the report from ``old`` to ``new`` only if nobody else did (two officers' taps)."""
    result = await session.exec(  # type: ignore[call-overload]
        update(FoundReport)
        .where(col(FoundReport.id) == report.id, col(FoundReport.status) == old)
        .values(status=new)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


def checklist_buttons(report: FoundReport, lang: str) -> tuple[tuple[Button, ...], ...]:
    """One button per check not yet ticked."""
    return tuple(
        (TickCheck(report.id or 0, item).button("☐ " + say(lang, f"check_{item}")),)
        for item in CHECKLIST
        if item not in report.checklist
    )


async def tick(services: Services, actor: Actor, found_id: int, item: str) -> Answer:
    """An officer ticks one handover check; each tick is an audit entry."""
    lang = actor.language
    if item not in CHECKLIST:
        return Answer(toast=say(lang, "stale_button"))
    async with services.sessions() as session:
        if not await services.officers.is_officer(session, actor):
            return Answer(toast=say(lang, "officers_only"))
        report = await session.get(FoundReport, found_id)
        if (
            report is None
            or report.status != FoundReportStatus.MATCHED
            or report.matched_case_id is None
        ):
            return Answer(toast=say(lang, "stale_button"))
        if item in report.checklist:
            return Answer(toast=say(lang, "check_already"))
        report.checklist = [*report.checklist, item]
        session.add(report)
        case_id = report.matched_case_id
        await services.audit.record(session, actor.user_id, "handover_check", case_id,
                             found=found_id, item=item)  # fmt: skip
        await session.commit()
    ticked = say(lang, "check_ticked", item=say(lang, f"check_{item}"))
    remaining = checklist_buttons(report, lang)
    if remaining:
        return Answer(toast=ticked).add(Out(ticked, buttons=remaining))
    close = Close(case_id, "found").button(say(lang, "btn_close_found"))
    return Answer(toast=ticked).add(
        Out(say(lang, "check_done", ref=ref(case_id)), buttons=((close,),))
    )


async def close_report(services: Services, actor: Actor, found_id: int) -> Answer:
    """An officer closes a found-child report that matched no case (the family came, say)."""
    lang = actor.language
    async with services.sessions() as session:
        if not await services.officers.is_officer(session, actor):
            return Answer(toast=say(lang, "officers_only"))
        report = await session.get(FoundReport, found_id)
        if (
            report is None
            or report.status != FoundReportStatus.OPEN
            or not await _claim(session, report, FoundReportStatus.OPEN, FoundReportStatus.CLOSED)
        ):
            return Answer(toast=say(lang, "stale_button"))
        report.status, report.closed_at = FoundReportStatus.CLOSED, services.now()
        session.add(report)
        await services.audit.record(session, actor.user_id, "found_closed", None, found=found_id)
        await session.commit()
    return Answer(toast=say(lang, "found_closed", fref=fref(found_id)))


async def close_for_case(services: Services, session: AsyncSession, case_id: int) -> None:
    """Closing a case closes the found-child report matched to it."""
    await session.exec(  # type: ignore[call-overload]
        update(FoundReport)
        .where(
            col(FoundReport.matched_case_id) == case_id,
            col(FoundReport.status) != FoundReportStatus.CLOSED,
        )
        .values(status=FoundReportStatus.CLOSED, closed_at=services.now())
        .execution_options(synchronize_session=False)
    )


async def matched_line(session: AsyncSession, case_id: int, lang: str) -> str:
    """For the case card: the found child it was matched with, if any."""
    query = select(FoundReport).where(FoundReport.matched_case_id == case_id)
    report = (await session.exec(query)).first()
    if report is None or report.matched_at is None:
        return ""
    ticked = len(report.checklist)
    return say(lang, "case_matched", fref=fref(report.id or 0), place=report.place_text or "",
               time=local_hhmm(report.matched_at), ticked=ticked, total=len(CHECKLIST))  # fmt: skip


async def forget(services: Services, dry_run: bool = False) -> int:
    """Retention: found-child reports closed (or left open, unmatched) longer than
    ``SEARCHBOT_RETENTION_DAYS`` are deleted with everything they held (the photo's file id,
    the description, the finder's name and phone) and the messages that told of them; the
    audit log keeps that there was one, not who the finder was."""
    cutoff = services.now() - timedelta(days=services.settings.retention_days)
    old = or_(
        and_(
            col(FoundReport.status) == FoundReportStatus.CLOSED, col(FoundReport.closed_at) < cutoff
        ),
        and_(
            col(FoundReport.status) == FoundReportStatus.OPEN, col(FoundReport.created_at) < cutoff
        ),
    )
    async with services.sessions() as session:
        ids = list((await session.exec(select(FoundReport.id).where(old))).all())
        if ids and not dry_run:
            await session.exec(delete(FoundReport).where(old))  # type: ignore[call-overload]
            await _forget_traces(session, [i for i in ids if i is not None])
            await services.audit.record(session, None, "found_forgotten", None, found=ids)
            await session.commit()
            await db.fold_journal(session)  # SQLite: the deleted words out of the -wal file too
    return len(ids)


async def _forget_traces(session: AsyncSession, ids: list[int]) -> None:
    """What the forgotten reports left elsewhere: the officers' cards and pins, the family's
    place after a match (outbox rows naming the report), and the finder's id on the ``found``
    audit entry (like a sighter's after a case's purge)."""
    await session.exec(delete(OutboxMessage).where(col(OutboxMessage.found_id).in_(ids)))  # type: ignore[call-overload]
    entries = await session.exec(select(AuditEntry).where(AuditEntry.action == "found"))
    for entry in entries.all():
        if entry.detail.get("found") in ids:
            entry.actor_user_id = None
            session.add(entry)
