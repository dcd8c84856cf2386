"""The officers' desk: list and inspect cases, verify, widen, manage groups and officers; and
the family's own view of their cases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases import coverage, escalation, exits, found, station_desk
from searchbot.cases.services import Services
from searchbot.domain.actors import Actor
from searchbot.domain.clock import local_hhmm, minutes_between
from searchbot.domain.events import CaseVerified
from searchbot.domain.messages import Answer, Button, Out
from searchbot.models import (
    AuditEntry,
    Case,
    CaseStatus,
    GroupStatus,
    Officer,
    Person,
)
from searchbot.models import queries as q
from searchbot.words.buttons import Approve, Found, Reject, hand_over_row
from searchbot.words.cards import (
    TEXT_LIMIT,
    case_buttons,
    case_card,
    distance_text,
    fit,
    visible_length,
)
from searchbot.words.texts import Raw, ref, say


async def as_officer(
    services: Services, actor: Actor, work: Callable[[AsyncSession], Awaitable[Answer]]
) -> Answer:
    """Run ``work`` in a session if the actor is an officer; otherwise refuse, changing nothing."""
    async with services.sessions() as session:
        if not await services.officers.is_officer(session, actor):
            text = say(actor.language, "officers_only")
            return Answer(toast=text).say(text)
        return await work(session)


async def list_cases(services: Services, actor: Actor) -> Answer:
    lang = actor.language

    async def work(session: AsyncSession) -> Answer:
        cases = list(reversed(await q.open_cases(session)))  # the newest first
        cases = [c for c in cases if await services.officers.may_follow(session, actor, c)]
        if not cases:
            return Answer().say(say(lang, "cases_none"))
        lines: list[str] = []
        for shown, case in enumerate(cases):
            _, _, sightings = await q.case_counts(session, case.id or 0)
            line = _case_line(services, case, lang, sightings)
            more = say(lang, "cases_more", count=len(cases) - shown)
            if visible_length("\n".join([*lines, line, more])) > TEXT_LIMIT:
                lines.append(more)  # said, not silently cut: the rest are older
                break
            lines.append(line)
        return Answer().say("\n".join(lines))

    return await as_officer(services, actor, work)


def _case_line(services: Services, case: Case, lang: str, sightings: int) -> str:
    from searchbot.words.cards import age_text, sex_text

    return say(
        lang,
        "cases_line",
        ref=ref(case.id or 0),
        age=Raw(age_text(case.age, lang)),
        sex=Raw(sex_text(case.sex, lang)),
        place=case.place_text or "",
        minutes=minutes_between(case.created_at, services.now()),
        stage=case.stage + 1,
        sightings=sightings,
    )


async def show_case(services: Services, actor: Actor, case_id: int) -> Answer:
    """/case N: the full card with its status, for officers and the case's reporter."""
    lang = actor.language
    async with services.sessions() as session:
        case = await session.get(Case, case_id)
        officer = await services.officers.is_officer(session, actor)
        if officer and case is not None:  # an officer of another station: not theirs to see
            officer = await services.officers.may_follow(session, actor, case)
        if not officer and (case is None or case.reporter_user_id != actor.user_id):
            # the same refusal whether the case exists or not: numbers tried tell nothing
            return Answer().say(say(lang, "officers_only"))
        if case is None:
            return Answer().say(say(lang, "no_such_case", ref=ref(case_id)))
        counts = await q.case_counts(session, case_id)
        rings = await coverage.of_case(services.settings, session, case) if officer else None
        log = await history(session, case_id, lang) if officer else ""
        matched = await found.matched_line(session, case_id, lang) if officer else ""
        ways_out = exits.render(await exits.state(services, session, case), lang) if officer else ""
        stations = bool((await services.officers.directory(session)).imported)
    now = services.now()
    status = escalation.status_line(services, case, lang, counts)
    for block in (matched, ways_out):
        status += "\n" + block if block else ""
    if rings is not None:
        status += "\n" + coverage.render(rings, lang) + "\n\n" + log
    text = fit(
        lambda d: case_card(case, lang, now, d) + "\n\n" + status,
        case.description or "",
        TEXT_LIMIT,
    )
    verified = case.verified_at is not None
    buttons = case_buttons(case_id, lang, verified, services.settings) if officer else ()
    if officer:
        buttons += hand_over_row(case_id, say(lang, "btn_hand_over_ask"), stations)
    if case.status != CaseStatus.OPEN:
        buttons = ()
    return Answer().add(Out(text=text, buttons=buttons).for_chat(actor.chat_id))


async def verify(services: Services, actor: Actor, case_id: int) -> Answer:
    lang = actor.language

    async def work(session: AsyncSession) -> Answer:
        case = await _open_case(services, session, actor, case_id)
        if isinstance(case, str):
            return Answer(toast=say(lang, case, ref=ref(case_id))).say(
                say(lang, case, ref=ref(case_id))
            )
        if case.verified_at is not None:
            return Answer().say(say(lang, "already_verified", ref=ref(case_id)))
        case.verified_at, case.verified_by = services.now(), actor.user_id
        if case.next_stage_at is None:
            due = escalation.next_due(services, case)
            case.next_stage_at = max(due, services.now()) if due else None
        session.add(case)
        await services.audit.record(session, actor.user_id, "verify", case_id)
        # the reporter is who they say: sightings held back from the family now go to them
        await services.publish(session, CaseVerified(case_id, actor.name))
        await session.commit()
        text = say(lang, "verified_by", ref=ref(case_id), by=actor.name or actor.user_id)
        return Answer(toast=text)

    return await as_officer(services, actor, work)


async def escalate(services: Services, actor: Actor, case_id: int) -> Answer:
    lang = actor.language

    async def work(session: AsyncSession) -> Answer:
        case = await _open_case(services, session, actor, case_id)
        if isinstance(case, str):
            text = say(lang, case, ref=ref(case_id))
            return Answer(toast=text).say(text)
        count = await escalation.escalate_now(services, session, case)
        stages = services.settings.escalation
        if count is None:
            radius = Raw(distance_text(stages[-1].radius_m, lang))
            return Answer().say(say(lang, "last_stage", ref=ref(case_id), radius=radius))
        await services.audit.record(session, actor.user_id, "escalate", case_id, stage=case.stage)
        await session.commit()
        text = say(
            lang,
            "escalated",
            ref=ref(case_id),
            stage=case.stage + 1,
            radius=Raw(distance_text(stages[case.stage].radius_m, lang)),
            count=count,
        )
        return Answer(toast=text).say(text)

    return await as_officer(services, actor, work)


async def _open_case(
    services: Services, session: AsyncSession, actor: Actor, case_id: int
) -> Case | str:
    """The open case the actor's station owns (verifying and widening are the owner's), or
    why not."""
    case = await session.get(Case, case_id)
    if case is None:
        return "no_such_case"
    if not await services.officers.may_run(session, actor, case):
        return "not_your_station"
    if case.status != CaseStatus.OPEN:
        return "case_closed_already"
    return case


async def list_groups(services: Services, actor: Actor, status: GroupStatus | None) -> Answer:
    lang = actor.language

    async def work(session: AsyncSession) -> Answer:
        groups = await q.groups_listed(session, status)
        scope = await services.officers.stations_for(session, actor)  # its stations' groups
        groups = [g for g in groups if scope is None or g.station_id in scope]
        if not groups:
            return Answer().say(say(lang, "groups_none"))
        answer = Answer()
        for group in groups[:50]:
            line = say(
                lang,
                "groups_line",
                chat_id=group.chat_id,
                title=group.title,
                role=say(lang, f"role_{group.role}"),
                status=say(lang, f"status_{group.status}"),
            )
            buttons: tuple[tuple[Button, ...], ...] = ()
            if group.status == GroupStatus.PENDING:
                buttons = (
                    (
                        Approve(group.chat_id).button(say(lang, "btn_approve")),
                        Reject(group.chat_id).button(say(lang, "btn_reject")),
                    ),
                )
            answer.add(Out(text=line, buttons=buttons))
        return answer

    return await as_officer(services, actor, work)


async def welcome(services: Services, actor: Actor) -> Answer:
    """/start: the greeting. An officer's chat also gets the officers' menu, since one appointed
    before they ever opened this chat could not be given it then."""
    answer = Answer().say(say(actor.language, "start"))
    async with services.sessions() as session:
        if await services.officers.is_officer(session, actor):
            answer.menus_for.append(actor.user_id)
    return answer


async def appoint(
    services: Services, actor: Actor, action: str | None, user_id: int | None
) -> Answer:
    """Admins: ``/officer add|remove USER_ID`` (anyone else learns only that it is theirs, not
    how it is used)."""
    lang = actor.language
    if not actor.in_private:  # in an imported station's officers' group: that station's
        async with services.sessions() as session:
            station = (await services.officers.directory(session)).by_officer_chat(actor.chat_id)
        if station is not None and station.id is not None:
            return await station_desk.appoint(services, actor, station, action, user_id)
    if not services.officers.is_admin(actor.user_id):
        return Answer().say(say(lang, "admins_only"))
    if action not in ("add", "remove") or user_id is None or user_id <= 0:
        return Answer().say(say(lang, "officer_usage"))
    async with services.sessions() as session:
        officer = await session.get(Officer, user_id)
        if officer is None:
            officer = Officer(user_id=user_id, added_by=actor.user_id, added_at=services.now())
        officer.active = action == "add"
        session.add(officer)
        if not officer.active and not services.officers.is_admin(user_id):
            await station_desk.cancel_officer_news(session, user_id)
        await services.audit.record(session, actor.user_id, f"officer_{action}", target=user_id)
        await session.commit()
    key = "officer_added" if action == "add" else "officer_removed"
    return Answer(menus_for=[user_id]).say(say(lang, key, user_id=user_id))


async def my_cases(services: Services, actor: Actor) -> Answer:
    """/mycases: the reporter's open cases, each with a Found button."""
    lang = actor.language
    async with services.sessions() as session:
        cases = await q.cases_of_reporter(session, actor.user_id)
        if not cases:
            return Answer().say(say(lang, "mycases_none"))
        answer = Answer()
        for case in cases:
            _, _, sightings = await q.case_counts(session, case.id or 0)
            text = say(
                lang,
                "mycases_line",
                ref=ref(case.id or 0),
                name=case.name or "?",
                minutes=minutes_between(case.created_at, services.now()),
                sightings=sightings,
            )
            found = Found(case.id or 0).button(say(lang, "btn_found"))
            answer.add(Out(text=text, buttons=((found,),)))
    return answer


async def block(services: Services, actor: Actor, user_id: int, blocked: bool) -> Answer:
    """/block, /unblock: stop (or allow again) a person's reports and sightings."""
    lang = actor.language

    async def work(session: AsyncSession) -> Answer:
        person = await session.get(Person, user_id)
        if person is None:
            person = Person(user_id=user_id, updated_at=services.now(), reachable=False)
        person.blocked = blocked
        session.add(person)
        await services.audit.record(session, actor.user_id, "block" if blocked else "unblock",
                             target=user_id)  # fmt: skip
        await session.commit()
        return Answer().say(say(lang, "blocked_done" if blocked else "unblocked_done",
                                user_id=user_id))  # fmt: skip

    return await as_officer(services, actor, work)


HISTORY_SHOWN = 12


async def history(session: AsyncSession, case_id: int, lang: str) -> str:
    """The last entries of a case's audit log, for officers."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.case_id == case_id)
        .order_by(col(AuditEntry.id).desc())
        .limit(HISTORY_SHOWN)
    )
    entries = list(reversed((await session.exec(query)).all()))
    lines = [say(lang, "history_title")]
    for entry in entries:
        detail = entry.detail.get("stage")
        action = entry.action + (f" {detail + 1}" if isinstance(detail, int) else "")
        actor = f" ({entry.actor_user_id})" if entry.actor_user_id else ""
        lines.append(
            say(lang, "history_line", time=local_hhmm(entry.at), action=action, actor=actor)
        )
    return "\n".join(lines)
