"""Every command and every button through every role: what a role may not do gets a clear
answer (the refusal, as a message or a button's toast) and changes nothing in the database;
what it may do is not refused. Forged and replayed callbacks change nothing they should not.

Roles: a stranger, the family (reporter of case #1), a member and an administrator of an
approved group, an appointed officer, an administrator of the bot.

Forging: ``fake.click`` only presses buttons that exist, so ``forge`` builds the
``callback_query`` the same way and queues it through the fake's public ``queue_update`` (the
fake has no public call for a callback with arbitrary data); it registers the query in
``fake.callback_queries`` so that the bot's ``answerCallbackQuery`` is valid.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, insert
from sqlmodel import col, select

from fakegram import FakeBotApi, FakeChat, FakeMessage, FakeUser
from searchbot.models import (
    Alert,
    AuditEntry,
    Case,
    Group,
    Officer,
    OutboxMessage,
    Person,
    Sighting,
)
from searchbot.words.texts import say
from tests.world import ADMIN_ID, CENTRE, OFFICER_ID, World, offset, world_settings

OFFICERS_ONLY = say("en", "officers_only")
ADMINS_ONLY = say("en", "admins_only")
GROUP_ADMINS_ONLY = say("en", "register_admins_only")
STALE = say("en", "stale_button")
REFUSALS = (OFFICERS_ONLY, ADMINS_ONLY, GROUP_ADMINS_ONLY)
# Seconds: every action is answered (a refusal at once); no answer in this time is a failure. A
# wait ends with the answer, so this is only how long a missing one is looked for: a machine
# busy with the whole PostgreSQL suite took over five seconds for an admin's /approve.
ANSWER_TIMEOUT = 15.0
# A file the bot draws or writes (the /stats chart, the /export files) comes after the work; the
# first chart of a process imports matplotlib, seconds on a machine busy with the whole suite.
FILE_TIMEOUT = 20.0
ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))
PAST_INT32 = "2147483648"  # cases.id and sightings.id are INTEGER: 32 bits on PostgreSQL

# --- the people and the places ---------------------------------------------------------------


@dataclass
class Cast:
    """One world with a case, a second family's case, a pending and an approved group, and a
    sighting: everything a permission can be checked against."""

    people: dict[str, FakeUser]
    approved: FakeChat
    pending: FakeChat
    case: int  # reported by "family", alerted to the approved group
    other_case: int  # reported by another family, far away: no group was alerted for it
    sighting: int  # by the group member, in reply to the alert
    alert: FakeMessage  # case #1's alert in the approved group

    def __getitem__(self, role: str) -> FakeUser:
        return self.people[role]


ROLES = ("stranger", "family", "member", "group_admin", "officer", "admin")
OFFICERS = frozenset({"officer", "admin"})
EVERYONE = frozenset(ROLES)


async def build_cast(world: World, fake: FakeBotApi) -> Cast:
    officer = await world.officer()
    admin = fake.users[ADMIN_ID]
    approved = await world.group(-101, "Tea shop", offset(CENTRE, 50), officer)
    pending = await world.group(-102, "Kiosk", offset(CENTRE, 100), None)
    family = fake.user(5001, first_name="Mother", last_name="Zhang", language_code="en")
    case = await world.report(family)
    other_family = fake.user(5002, first_name="Father", language_code="en")
    other_case = await world.report(other_family, offset(CENTRE, 5000))
    alert = next(m for m in fake.messages(approved) if m.photo_file_id)

    member = fake.user(7001, first_name="Shopkeeper Wang", language_code="en")
    fake.add_member(approved, member)
    fake.send(member, chat=approved, location=offset(CENTRE, 80), reply_to=alert)
    await world.settle()
    group_admin = fake.users[approved.admins[0]]
    stranger = fake.user(6001, first_name="Stranger", language_code="en")
    for person in (group_admin, member, stranger):
        await world.says(person, "/start")  # each has a chat with the bot (and a bot message)
    async with world.services.sessions() as session:
        (sighting,) = (await session.exec(select(Sighting))).all()
    assert sighting.id is not None
    people = {
        "stranger": stranger, "family": family, "member": member, "group_admin": group_admin,
        "officer": officer, "admin": admin, "other_family": other_family,
    }  # fmt: skip
    return Cast(people, approved, pending, case, other_case, sighting.id, alert)


# --- acting and hearing back -----------------------------------------------------------------


@dataclass
class Heard:
    """What the bot answered to one action: new messages in the chat and the button's toast."""

    messages: list[FakeMessage] = field(default_factory=list)
    toast: str | None = None
    answered: bool = False

    @property
    def texts(self) -> list[str]:
        shown = [m.body for m in self.messages] + [m.html for m in self.messages if m.html]
        return ([self.toast] if self.toast else []) + shown

    def says(self, text: str) -> bool:
        return any(text in t for t in self.texts)

    def refused(self) -> bool:
        return any(self.says(r) for r in REFUSALS)

    def __str__(self) -> str:
        return f"answered={self.answered} {self.texts!r}"


async def _collect(
    world: World,
    chat_id: int,
    before: int,
    query_id: str | None = None,
    timeout: float = ANSWER_TIMEOUT,
) -> Heard:
    fake = world.fake

    def done() -> bool:
        if query_id is not None:
            return query_id in fake.callback_answers
        return len(fake.messages(chat_id)) > before

    try:
        await fake.wait_for(done, timeout=timeout)
    except AssertionError:
        return Heard(fake.messages(chat_id)[before:], None, False)
    await world.settle(timeout=ANSWER_TIMEOUT)  # and what it queued (replies go through the outbox)
    toast = fake.callback_answers[query_id].get("text") if query_id else None
    return Heard(fake.messages(chat_id)[before:], toast, True)


async def send(
    world: World,
    user: FakeUser,
    text: str,
    chat: FakeChat | None = None,
    timeout: float = ANSWER_TIMEOUT,
) -> Heard:
    """``user`` sends ``text`` (in private, or in ``chat``); what the bot answered there."""
    chat_id = chat.chat_id if chat is not None else user.user_id
    before = len(world.fake.messages(chat_id))
    world.fake.send(user, chat=chat, text=text)
    return await _collect(world, chat_id, before, timeout=timeout)


_forged = itertools.count(1)


def forge(fake: FakeBotApi, user: FakeUser, message: FakeMessage, data: str) -> str:
    """Queue a callback_query from ``user`` on ``message`` with any ``data``, built like
    ``fake.click`` builds one; returns its id."""
    query_id = str(8_000_000_000_000_000_000 + next(_forged))
    query: dict[str, Any] = {
        "id": query_id,
        "from": user.to_dict(),
        "message": copy.deepcopy(message.raw),
        "chat_instance": str(abs(message.chat_id) * 1_000_003 % 10**18),
        "data": data,
    }
    fake.callback_queries[query_id] = query
    fake.queue_update("callback_query", query)
    return query_id


async def press(
    world: World,
    user: FakeUser,
    data: str,
    on: FakeMessage | None = None,
    timeout: float = ANSWER_TIMEOUT,
) -> Heard:
    """``user`` presses a button with ``data`` on ``on`` (default: the last bot message in
    their private chat); what the bot answered."""
    fake = world.fake
    message = on or fake.last(user.user_id)
    assert message is not None, f"{user.first_name} has no message from the bot to press on"
    before = len(fake.messages(message.chat_id))
    query_id = forge(fake, user, message, data)
    return await _collect(world, message.chat_id, before, query_id, timeout)


# --- what must not change --------------------------------------------------------------------


async def snapshot(world: World) -> dict[str, Any]:
    """The state a refused action must leave as it was."""
    async with world.services.sessions() as session:

        async def rows(model: type[Any], key: Any, exclude: Iterable[str] = ()) -> list[Any]:
            found = (await session.exec(select(model).order_by(key))).all()
            return [row.model_dump(exclude=set(exclude)) for row in found]

        async def count(model: type[Any], *where: Any) -> int:
            query = select(func.count()).select_from(model).where(*where)
            return int((await session.exec(query)).one())

        people = (await session.exec(select(Person).order_by(col(Person.user_id)))).all()
        return {
            "cases": await rows(Case, col(Case.id), exclude={"reminded_at"}),
            "groups": await rows(Group, col(Group.id)),
            "alerts": await rows(Alert, col(Alert.id)),
            "sightings": await rows(Sighting, col(Sighting.id)),
            "officers": await rows(Officer, col(Officer.user_id)),
            "people.blocked": [(p.user_id, p.blocked) for p in people],
            # the answer itself is an outbox row too (kind "reply"); anything else is a change
            "outbox rows": await count(OutboxMessage, col(OutboxMessage.kind) != "reply"),
            "audit entries": await count(AuditEntry),
        }


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [name for name in before if before[name] != after[name]]


# --- the table -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One command or button. ``where``: "private" (a command in the actor's chat with the
    bot), "group" (a command in the approved group), "button" (pressed in the actor's chat).
    ``step`` orders the permitted runs: 0 reads, 1 changes that leave the world usable,
    2 closings, 3 unregistering the group."""

    where: str
    what: str
    allowed: frozenset[str]
    refusal: str = OFFICERS_ONLY
    step: int = 0

    @property
    def label(self) -> str:
        return f"{self.where} {self.what}"


def actions(cast: Cast) -> list[Action]:
    case, other, sighting = cast.case, cast.other_case, cast.sighting
    pending = cast.pending.chat_id
    family = OFFICERS | {"family"}
    admin = frozenset({"admin"})
    group_admin = frozenset({"group_admin"})
    return [
        # anyone, in private
        Action("private", "/start", EVERYONE),
        Action("private", "/help", EVERYONE),
        Action("private", "/mycases", EVERYONE),
        Action("private", "/report", EVERYONE),
        Action("private", "/cancel", EVERYONE),
        Action("private", f"/seen {case}", EVERYONE),
        Action("private", "/cancel", EVERYONE),
        # officers' desk
        Action("private", "/cases", OFFICERS),
        Action("private", f"/case {case}", family),
        Action("private", f"/case {other}", OFFICERS),
        Action("private", "/groups", OFFICERS),
        Action("private", "/groups pending", OFFICERS),
        Action("private", "/stats", OFFICERS),
        Action("private", f"/export {case}", OFFICERS),
        Action("private", f"/verify {case}", OFFICERS, step=1),
        Action("private", f"/escalate {case}", OFFICERS, step=1),
        Action("private", f"/approve {pending}", OFFICERS, step=1),
        Action("private", f"/reject {pending}", OFFICERS, step=1),
        Action("private", "/block 424242", OFFICERS, step=1),
        Action("private", "/unblock 424242", OFFICERS, step=1),
        Action("private", "/officer add 424243", admin, ADMINS_ONLY, step=1),
        Action("private", "/officer remove 424243", admin, ADMINS_ONLY, step=1),
        Action("private", f"/close {other} found", OFFICERS, step=2),
        Action("private", f"/close {case} false_alarm", OFFICERS, step=2),
        Action("private", f"/close {case} withdrawn", family, step=2),
        # the group's own commands, in the approved group
        Action("group", "/status", EVERYONE),
        Action("group", "/register merchant", group_admin, GROUP_ADMINS_ONLY),
        Action("group", "/unregister", group_admin, GROUP_ADMINS_ONLY, step=3),
        # officers' buttons (and the family's Found), pressed in the presser's private chat
        Action("button", f"vf:{case}", OFFICERS, step=1),
        Action("button", f"es:{case}", OFFICERS, step=1),
        Action("button", f"sc:{sighting}:0", OFFICERS, step=1),
        Action("button", f"sc:{sighting}:1", OFFICERS, step=1),
        Action("button", f"ap:{pending}", OFFICERS, step=1),
        Action("button", f"rj:{pending}", OFFICERS, step=1),
        Action("button", f"fd:{other}", OFFICERS, step=2),
        Action("button", f"cl:{other}:withdrawn", OFFICERS, step=2),
        Action("button", f"cl:{case}:false_alarm", OFFICERS, step=2),
        Action("button", f"fd:{case}", family, step=2),
        Action("button", f"cl:{case}:found", family, step=2),
    ]


async def perform(world: World, cast: Cast, role: str, action: Action) -> Heard:
    user = cast[role]
    if action.where == "private":
        makes_file = action.what.startswith(("/stats", "/export"))
        return await send(
            world, user, action.what, timeout=FILE_TIMEOUT if makes_file else ANSWER_TIMEOUT
        )
    if action.where == "group":
        return await send(world, user, action.what, chat=cast.approved)
    return await press(world, user, action.what)


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.slow
async def test_every_refused_action_answers_clearly_and_changes_nothing(
    world: World, fake: FakeBotApi
) -> None:
    cast = await build_cast(world, fake)
    failures: list[str] = []
    tried = 0
    for action in actions(cast):
        for role in sorted(EVERYONE - action.allowed):
            before = await snapshot(world)
            heard = await perform(world, cast, role, action)
            after = await snapshot(world)
            tried += 1
            if not heard.says(action.refusal):
                failures.append(f"{role} / {action.label}: expected {action.refusal!r}, {heard}")
            if changed := changes(before, after):
                failures.append(f"{role} / {action.label}: changed {changed}")
    assert tried > 100
    assert failures == []
    assert fake.violations == []


@pytest.mark.slow
async def test_every_permitted_action_is_carried_out(world: World, fake: FakeBotApi) -> None:
    cast = await build_cast(world, fake)
    failures: list[str] = []
    for action in sorted(actions(cast), key=lambda a: a.step):
        for role in sorted(action.allowed):
            heard = await perform(world, cast, role, action)
            await world.settle()
            if not heard.answered or heard.refused():
                failures.append(f"{role} / {action.label}: {heard}")
    assert failures == []
    async with world.services.sessions() as session:
        case = await session.get(Case, cast.case)
        query = select(Group).where(Group.chat_id == cast.approved.chat_id)
        group = (await session.exec(query)).one()
        assert case is not None
        assert case.status == "closed" and case.verified_by in (ADMIN_ID, OFFICER_ID)
        assert group.status == "inactive"  # the group admin unregistered it at the end
    assert fake.violations == []


# --- forged and replayed callbacks -----------------------------------------------------------


async def test_forged_callbacks_change_nothing(world: World, fake: FakeBotApi) -> None:
    cast = await build_cast(world, fake)
    family, stranger, member = cast["family"], cast["stranger"], cast["member"]
    pending_prompt = fake.last(cast.pending.chat_id)
    assert pending_prompt is not None
    forged: list[tuple[str, FakeUser, str, FakeMessage | None, str]] = [
        # (what, who, data, pressed on, expected answer)
        ("the family's Found on another family's case", family, f"fd:{cast.other_case}", None,
         OFFICERS_ONLY),
        ("the family closing another case", family, f"cl:{cast.other_case}:found", None,
         OFFICERS_ONLY),
        ("the family closing its own case as a false alarm", family,
         f"cl:{cast.case}:false_alarm", None, OFFICERS_ONLY),
        ("a stranger's Found", stranger, f"fd:{cast.case}", None, OFFICERS_ONLY),
        ("a stranger verifying", stranger, f"vf:{cast.case}", None, OFFICERS_ONLY),
        ("a stranger widening", stranger, f"es:{cast.case}", None, OFFICERS_ONLY),
        ("a stranger approving", stranger, f"ap:{cast.pending.chat_id}", None, OFFICERS_ONLY),
        ("a stranger judging", stranger, f"sc:{cast.sighting}:1", None, OFFICERS_ONLY),
        ("Checked for a case the group was not alerted for", member, f"ck:{cast.other_case}",
         cast.alert, STALE),
        ("Checked in a group that was never alerted", member, f"ck:{cast.case}",
         pending_prompt, STALE),
        ("Checked from a private chat", member, f"ck:{cast.case}", None, STALE),
        ("a case number that is not a number", stranger, "cl:abc", None, STALE),
        ("a verdict without its value", cast["officer"], "sc:1", None, STALE),
        ("an unknown prefix", stranger, "zz", None, STALE),
        ("an empty argument", family, "fd:", None, STALE),
        ("64 bytes of nothing", stranger, "x" * 64, None, STALE),
        ("a dialogue button without a dialogue", stranger, "d:confirm", None, STALE),
    ]  # fmt: skip
    failures: list[str] = []
    for what, user, data, on, expected in forged:
        before = await snapshot(world)
        heard = await press(world, user, data, on)
        after = await snapshot(world)
        if not heard.says(expected):
            failures.append(f"{what} ({data!r}): expected {expected!r}, {heard}")
        if changed := changes(before, after):
            failures.append(f"{what} ({data!r}): changed {changed}")
    assert failures == []
    assert fake.violations == []


HUGE_NUMBERS = [
    "cl:" + "9" * 55 + ":found",  # 64 bytes: a case number no database column can hold
    "fd:" + "9" * 61,
    "vf:" + "9" * 61,
    "es:" + "9" * 61,
    "ck:" + "9" * 61,
    "ap:-" + "9" * 60,
    "sc:" + "9" * 59 + ":1",
    "mt:" + "9" * 59 + ":1",
    "mt:1:" + "9" * 59,
    "hc:" + "9" * 59 + ":id",
    "fc:" + "9" * 61,
    "ew:1:" + "9" * 59,
]


async def test_forged_huge_numbers_are_stale_buttons(world: World, fake: FakeBotApi) -> None:
    officer = await world.officer()
    failures = []
    for data in HUGE_NUMBERS:
        heard = await press(world, officer, data, timeout=1.5)
        if not heard.says(STALE):
            failures.append(f"{data}: {heard}")
    assert failures == []


async def test_forged_numbers_past_the_id_column_are_stale_buttons(
    world: World, fake: FakeBotApi
) -> None:
    """Case and sighting ids are INTEGER on PostgreSQL: one past 2,147,483,647 must be a stale
    button (not an overflow in the database); a chat id is a BIGINT and may be that large."""
    officer = await world.officer()
    (group,) = await world.seed_groups([offset(CENTRE, 50)], -101)
    await world.report(fake.user(5001, first_name="Mother", language_code="en"))
    alert = next(m for m in fake.messages(group) if m.photo_file_id)
    failures = []
    for data, on, expected in (
        (f"vf:{PAST_INT32}", None, STALE),
        (f"es:{PAST_INT32}", None, STALE),
        (f"cl:{PAST_INT32}:found", None, STALE),
        (f"fd:{PAST_INT32}", None, STALE),
        (f"sc:{PAST_INT32}:1", None, STALE),
        (f"mt:{PAST_INT32}:1", None, STALE),
        (f"hc:{PAST_INT32}:id", None, STALE),
        (f"fc:{PAST_INT32}", None, STALE),
        (f"ck:{PAST_INT32}", alert, STALE),
        (f"ew:1:{PAST_INT32}", alert, STALE),
        (f"ap:-100{PAST_INT32}", None, say("en", "no_such_group", chat_id=f"-100{PAST_INT32}")),
    ):
        heard = await press(world, officer, data, on, timeout=1.5)
        if not heard.says(expected):
            failures.append(f"{data}: {heard}")
    assert failures == []


async def test_a_replayed_approve_changes_nothing(world: World, fake: FakeBotApi) -> None:
    officer = await world.officer()
    approved = await world.group(-101, "Tea shop", offset(CENTRE, 50), officer)
    request = world.request_for(officer, approved.chat_id)
    notices = len(fake.messages(approved))
    before = await snapshot(world)
    heard = await press(world, officer, f"ap:{approved.chat_id}", on=request)
    await world.settle()
    assert heard.answered and not heard.refused()
    assert changes(before, await snapshot(world)) == []
    assert len(fake.messages(approved)) == notices  # no second "approved" notice


async def test_replayed_officer_buttons_change_nothing(world: World, fake: FakeBotApi) -> None:
    """A verify, a verdict and a close pressed twice: the second press is answered and
    changes nothing."""
    cast = await build_cast(world, fake)
    officer = cast["officer"]
    for data, again in (
        (f"vf:{cast.case}", say("en", "already_verified", ref=f"#{cast.case}")),
        (f"sc:{cast.sighting}:0", say("en", "already_judged")),
        (f"cl:{cast.case}:found", say("en", "case_closed_already", ref=f"#{cast.case}")),
    ):
        first = await press(world, officer, data)
        await world.settle()
        assert first.answered and not first.refused(), (data, str(first))
        before = await snapshot(world)
        second = await press(world, officer, data)
        await world.settle()
        assert second.says(again), (data, str(second))
        assert changes(before, await snapshot(world)) == [], data
    assert fake.violations == []


async def test_a_removed_officer_is_refused_at_once(world: World, fake: FakeBotApi) -> None:
    officer = await world.officer()
    assert not (await send(world, officer, "/cases")).refused()
    admin = fake.users[ADMIN_ID]
    assert (await send(world, admin, f"/officer remove {officer.user_id}")).says(
        say("en", "officer_removed", user_id=officer.user_id)
    )
    before = await snapshot(world)
    for text in ("/cases", "/groups", "/stats", "/verify 1"):
        assert (await send(world, officer, text)).says(OFFICERS_ONLY), text
    assert changes(before, await snapshot(world)) == []


async def test_anyone_in_the_officers_group_acts_as_an_officer_there_only(
    fake: FakeBotApi, database_url: str
) -> None:
    desk_id = -900
    settings = world_settings(fake, database_url, SEARCHBOT_OFFICER_CHAT_ID=desk_id)
    async with World(fake, settings) as world:
        desk = fake.group(chat_id=desk_id, title="Station desk", admins=[ADMIN_ID])
        constable = fake.user(6100, first_name="Constable", language_code="en")
        await world.says(constable, "/start")
        heard = await send(world, constable, "/groups", chat=desk)
        assert heard.answered and not heard.refused(), str(heard)
        assert (await send(world, constable, "/groups")).says(OFFICERS_ONLY)


# --- an unverified reporter, guessed numbers, forged links (issue 11) -------------------------


async def test_the_family_cannot_end_an_unverified_search_alone(
    world: World, fake: FakeBotApi
) -> None:
    """A false reporter (say, the person someone fled from) must not be able to take the
    alerts down before an officer looked at the case: the family's Found asks an officer,
    whose Confirm retracts at once."""
    officer = await world.officer()
    (group,) = await world.seed_groups([offset(CENTRE, 50)], -101)
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    listing = await world.says(family, "/mycases")
    before = await snapshot(world)
    asked = await world.taps(family, listing, "Found")
    await world.says(family, f"/close {case_id} withdrawn")  # typed, another outcome
    await world.taps(family, listing, "Found")  # pressed again
    after = await snapshot(world)
    assert asked is not None and asked.body == say("en", "close_request_family", ref=f"#{case_id}")
    assert set(changes(before, after)) <= {"outbox rows", "audit entries"}
    assert not any(c.method == "deleteMessage" for c in fake.calls)
    assert [m.photo_file_id is not None for m in fake.messages(group)] == [True]

    confirm = say("en", "btn_confirm_close", outcome=say("en", "outcome_found"))
    cards = [m for m in fake.messages(officer) if confirm in m.button_texts]
    assert len(cards) == 1  # asked once, however often the family presses
    assert any(say("en", "outcome_withdrawn") in t for m in fake.messages(officer)
               for t in m.button_texts)  # fmt: skip
    await world.taps(officer, cards[0], confirm)
    await world.settle()
    assert not any(m.photo_file_id for m in fake.messages(group))  # the photo is gone
    assert any("closed: found" in m.body for m in fake.messages(family))
    async with world.services.sessions() as session:
        case = await session.get(Case, case_id)
        assert case is not None and case.status == "closed" and case.closed_by == officer.user_id
    assert fake.violations == []


async def test_a_verified_familys_found_closes_at_once(world: World, fake: FakeBotApi) -> None:
    officer = await world.officer()
    (group,) = await world.seed_groups([offset(CENTRE, 50)], -101)
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    await world.says(officer, f"/verify {case_id}")
    await world.taps(family, await world.says(family, "/mycases"), "Found")
    await world.settle()
    assert not any(m.photo_file_id for m in fake.messages(group))
    async with world.services.sessions() as session:
        case = await session.get(Case, case_id)
        assert case is not None and case.status == "closed" and case.closed_by == family.user_id


async def sight(world: World, user: FakeUser, start: str) -> list[str]:
    """``user`` goes through a whole sighting dialogue opened with ``start``, sending an
    extortion note; every answer the bot gave, in order."""
    answers = [(await world.says(user, start)).body]
    photo_ask = await world.says(user, "by the fountain")
    note_ask = await world.taps(user, photo_ask, "Skip")
    assert note_ask is not None
    when_ask = await world.says(user, "pay 5000 yuan or you never see him again")
    thanks = await world.taps(user, when_ask, "Just now")
    assert thanks is not None
    return [*answers, photo_ask.body, note_ask.body, when_ask.body, thanks.body]


@dataclass
class Probe:
    """An open case and a closed one, each alerted to its own group, and a stranger."""

    officer: FakeUser
    families: list[FakeUser]
    open_case: int
    closed_case: int
    open_alert: FakeMessage
    closed_alert: FakeMessage
    stranger: FakeUser


async def probe_world(world: World, fake: FakeBotApi) -> Probe:
    officer = await world.officer()
    near, far = await world.seed_groups([offset(CENTRE, 50), offset(CENTRE, 9000)], -101)
    first = fake.user(5001, first_name="Mother", language_code="en")
    second = fake.user(5002, first_name="Father", language_code="en")
    open_case = await world.report(first)
    closed_case = await world.report(second, offset(CENTRE, 9000))
    await world.says(officer, f"/close {closed_case} false_alarm")
    await world.settle()
    open_alert = next(m for m in fake.messages(near, include_deleted=True) if m.photo_file_id)
    closed_alert = next(m for m in fake.messages(far, include_deleted=True) if m.photo_file_id)
    stranger = fake.user(6001, first_name="Stranger", language_code="en")
    await world.says(stranger, "/start")
    return Probe(officer, [first, second], open_case, closed_case, open_alert, closed_alert,
                 stranger)  # fmt: skip


def heard_by(fake: FakeBotApi, people: list[FakeUser]) -> list[int]:
    return [len(fake.messages(person, include_deleted=True)) for person in people]


async def test_case_numbers_tried_one_after_another_tell_nothing(
    world: World, fake: FakeBotApi
) -> None:
    """``/seen N`` for an open, a closed and an unknown case: the same answers word for word,
    nothing reaches any family, and only the open case's officers get the note."""
    probe = await probe_world(world, fake)
    families = probe.families
    answers = {}
    for number in (probe.open_case, probe.closed_case, 99, probe.open_case + 100):
        told, cards = heard_by(fake, families), heard_by(fake, [probe.officer])
        before = await snapshot(world)
        answers[number] = await sight(world, probe.stranger, f"/seen {number}")
        await world.settle()
        assert heard_by(fake, families) == told, number  # nothing reaches a family
        if number != probe.open_case:
            assert changes(before, await snapshot(world)) == [], number
            assert heard_by(fake, [probe.officer]) == cards, number
    assert len({tuple(a) for a in answers.values()}) == 1, answers
    assert answers[99][-1] == say("en", "seen_thanks")

    # the officers have it, marked as from outside; verifying the case does not pass it on
    card = next(m for m in fake.messages(probe.officer) if "pay 5000" in m.body)
    assert say("en", "sighting_outside_officers") in card.body
    await world.says(probe.officer, f"/verify {probe.open_case}")
    await world.settle()
    assert not any("pay 5000" in m.body for m in fake.messages(families[0]))
    (sighting,) = (await snapshot(world))["sightings"]
    assert sighting["source"] == "command" and sighting["shared_at"] is None

    # someone else with a case number cannot even tell the case exists from /case
    for number in (probe.open_case, probe.closed_case, 99):
        assert (await send(world, probe.stranger, f"/case {number}")).says(OFFICERS_ONLY)
    assert fake.violations == []


async def test_forged_and_stale_links_tell_nothing(world: World, fake: FakeBotApi) -> None:
    """The alert's link carries a random token, not the case number. A forged token, another
    case's number, and the link of a closed case's alert get the same dialogue as a real link,
    and change nothing; the real one reaches the officers (and the family only as a notice,
    the case being unverified)."""
    probe = await probe_world(world, fake)
    real = world.seen_payload(probe.open_alert)
    stale = world.seen_payload(probe.closed_alert)
    assert re.fullmatch(r"seen_[A-Za-z0-9_-]{16}", real) and real != stale  # 96 random bits
    forged = [
        "seen_" + secrets.token_urlsafe(12), "seen_" + real[5:-1] + ("A" if real[-1] != "A" else "B"),
        f"seen_{probe.closed_case}", "seen_99", "seen_", "seen_../../etc", stale,
    ]  # fmt: skip
    answers = {}
    watched = [*probe.families, probe.officer]
    for payload in forged:
        told = heard_by(fake, watched)
        before = await snapshot(world)
        answers[payload] = await sight(world, probe.stranger, f"/start {payload}")
        await world.settle()
        assert heard_by(fake, watched) == told, payload
        assert changes(before, await snapshot(world)) == [], payload
    told = heard_by(fake, probe.families)
    answers[real] = await sight(world, probe.stranger, f"/start {real}")
    await world.settle()
    assert len({tuple(a) for a in answers.values()}) == 1, answers
    family = fake.messages(probe.families[0])[told[0] :]
    assert [m.body for m in family] == [
        say("en", "sighting_held_family", ref=f"#{probe.open_case}")
    ]
    assert heard_by(fake, probe.families[1:]) == told[1:]
    assert any("pay 5000" in m.body for m in fake.messages(probe.officer))
    assert fake.violations == []


async def test_the_sighting_limit_does_not_tell_numbers_apart(
    fake: FakeBotApi, database_url: str
) -> None:
    """Past the per-case limit, ``/seen N`` of an open case still answers like an unknown one
    (a "too many" refusal only an open case gives would be an oracle); a link from an alert
    still says so."""
    settings = world_settings(fake, database_url, SEARCHBOT_SIGHTINGS_PER_CASE=1)
    async with World(fake, settings) as world:
        probe = await probe_world(world, fake)
        first = await sight(world, probe.stranger, f"/seen {probe.open_case}")
        before = await snapshot(world)
        again = await sight(world, probe.stranger, f"/seen {probe.open_case}")
        unknown = await sight(world, probe.stranger, "/seen 99")
        assert first == again == unknown
        assert changes(before, await snapshot(world)) == []
        linked = await sight(
            world, probe.stranger, f"/start {world.seen_payload(probe.open_alert)}"
        )
        assert linked[-1] == say("en", "sighting_limit")
    assert fake.violations == []


# --- the smaller gaps (issue 11, point 7) ------------------------------------------------------


async def test_only_a_group_admin_answers_the_location_question(
    world: World, fake: FakeBotApi
) -> None:
    """A member replying to the registration's location question could put the group anywhere
    (and so draw alerts about children far away): refused, the group still waits."""
    owner = fake.user(1010, first_name="Owner", language_code="en")
    member = fake.user(7002, first_name="Member", language_code="en")
    group = fake.group(chat_id=-101, title="Tea shop", admins=[owner.user_id], members=[member])
    fake.send(owner, chat=group, text="/register merchant")
    prompt = await fake.wait_for(lambda: fake.last(group.chat_id))
    await world.settle()
    before = await snapshot(world)
    fake.send(member, chat=group, location=offset(CENTRE, 9000), reply_to=prompt)
    await world.settle()
    assert GROUP_ADMINS_ONLY in (fake.last(group.chat_id) or prompt).body
    assert changes(before, await snapshot(world)) == []
    fake.send(owner, chat=group, location=offset(CENTRE, 50), reply_to=prompt)
    await world.settle()
    assert "police will review" in (fake.last(group.chat_id) or prompt).body
    async with world.services.sessions() as session:
        (row,) = (await session.exec(select(Group))).all()
        assert row.status == "pending" and row.lat == offset(CENTRE, 50)[0]


async def _case_rows_to(world: World, chat_id: int) -> set[str]:
    """The statuses of the outbox rows about cases queued for ``chat_id``."""
    async with world.services.sessions() as session:
        statuses = (await session.exec(
            select(OutboxMessage.status).where(OutboxMessage.chat_id == chat_id)
            .where(col(OutboxMessage.case_id).is_not(None))
        )).all()  # fmt: skip
    return {str(status) for status in statuses}


async def test_a_removed_officer_gets_nothing_already_queued_for_them(
    fake: FakeBotApi, database_url: str
) -> None:
    """The officer's chat is failing when a case comes in, so its card and pin wait for a
    retry; the officer is removed meanwhile: the waiting rows are cancelled, never sent."""
    settings = world_settings(fake, database_url, SEARCHBOT_RETRY_SECONDS=5)
    async with World(fake, settings) as world:
        officer = await world.officer()
        admin = fake.users[ADMIN_ID]
        fake.fail_next(officer.user_id, 502, count=2)  # the card (and the pin) fail once
        family = fake.user(5001, first_name="Mother", language_code="en")
        summary = await world.draft_report(family)
        fake.click(family, summary, "Confirm")
        await fake.wait_for(lambda: "is open" in (fake.last(family.user_id) or summary).body)
        await fake.wait_for(
            lambda: len([c for c in fake.calls if c.params.get("chat_id") == officer.user_id
                         and c.error_code == 502]) == 2
        )  # the officer's card and pin failed: they wait for their retry  # fmt: skip
        # ... once the bot has written the failures down (a loaded machine may still be at it:
        # a row still being sent is the dispatcher's, not the removal's, to withdraw)
        for _ in range(200):
            if await _case_rows_to(world, officer.user_id) == {"pending"}:
                break
            await asyncio.sleep(0.05)
        seen = len(fake.messages(officer.user_id))
        heard = await send(world, admin, f"/officer remove {officer.user_id}")
        assert heard.says(say("en", "officer_removed", user_id=officer.user_id))
        await world.settle()
        assert fake.messages(officer.user_id)[seen:] == []  # nothing after the removal
        assert not any("#1" in m.body for m in fake.messages(officer.user_id))  # no card
        statuses = await _case_rows_to(world, officer.user_id)
        assert "cancelled" in statuses
        assert "pending" not in statuses
        assert any("#1" in m.body for m in fake.messages(ADMIN_ID))  # the admin still hears
    assert fake.violations == []


async def test_officers_news_queued_in_the_moment_of_removal_is_not_sent(
    world: World, fake: FakeBotApi
) -> None:
    """The race the cancelling cannot see: a card rendered for the officer just before the
    removal committed, queued just after it. The dispatcher checks again before sending."""
    from searchbot.models.outbox import FOR_OFFICERS, enqueue

    officer = await world.officer()
    admin = fake.users[ADMIN_ID]
    await send(world, admin, f"/officer remove {officer.user_id}")
    await world.settle()
    seen = len(fake.messages(officer.user_id))
    async with world.services.sessions() as session:
        for chat_id in (officer.user_id, ADMIN_ID):
            payload = {"op": "send", "text": "🆕 New case #77", FOR_OFFICERS: True}
            await enqueue(session, chat_id, payload, kind="card", now=world.services.now())
        await session.commit()
    world.services.doorbell.ring()
    await world.settle()
    assert fake.messages(officer.user_id)[seen:] == []
    assert "#77" in (fake.last(ADMIN_ID) or officer_message_missing()).body  # admins still hear
    async with world.services.sessions() as session:
        rows = (await session.exec(
            select(OutboxMessage.status).where(OutboxMessage.chat_id == officer.user_id)
            .where(OutboxMessage.kind == "card")
        )).all()  # fmt: skip
    assert list(rows) == ["cancelled"]


def officer_message_missing() -> FakeMessage:
    raise AssertionError("the admin got no message")


async def test_a_button_in_the_officers_group_needs_a_member_of_it(
    fake: FakeBotApi, database_url: str
) -> None:
    """Everyone in the officers' group acts as an officer there; someone who left it (or was
    removed) no longer does, even pressing a card's button that they can still see."""
    desk_id = -900
    settings = world_settings(fake, database_url, SEARCHBOT_OFFICER_CHAT_ID=desk_id)
    async with World(fake, settings) as world:
        constable = fake.user(6100, first_name="Constable", language_code="en")
        former = fake.user(6101, first_name="Former", language_code="en")
        desk = fake.group(chat_id=desk_id, title="Station desk", admins=[ADMIN_ID],
                          members=[constable, former])  # fmt: skip
        case_id = await world.report(fake.user(5001, first_name="Mother", language_code="en"))
        card = next(m for m in fake.messages(desk) if "Verify" in " ".join(m.button_texts))
        fake.remove_member(desk, former)
        await world.settle()
        before = await snapshot(world)
        query = fake.click(former, card, "Verify")
        await fake.wait_for(lambda: query in fake.callback_answers)
        await world.settle()
        assert OFFICERS_ONLY in (fake.callback_answers[query].get("text") or "")
        assert changes(before, await snapshot(world)) == []
        query = fake.click(constable, card, "Verify")
        await fake.wait_for(lambda: query in fake.callback_answers)
        await world.settle()
        async with world.services.sessions() as session:
            case = await session.get(Case, case_id)
            assert case is not None and case.verified_by == constable.user_id
    assert fake.violations == []


async def test_a_display_name_cannot_put_a_fake_id_on_officer_cards(
    world: World, fake: FakeBotApi
) -> None:
    """A name is whatever a person typed into Telegram: "Mother (id 9001)" must not make the
    family look like officer 9001 on a card; the id shown is the real one."""
    officer = await world.officer()
    (group,) = await world.seed_groups([offset(CENTRE, 60)], -101)
    family = fake.user(5001, first_name="Mother (id 9001)", last_name="ID: 9000",
                       language_code="en")  # fmt: skip
    await world.report(family)
    alert = next(m for m in fake.messages(group) if m.photo_file_id)
    sighter = fake.user(7001, first_name="Wu", last_name="【9001】", language_code="en")
    fake.send(sighter, chat=group, text="by the fountain", reply_to=alert)
    await world.settle()
    cards = "\n".join(m.body for m in fake.messages(officer.user_id))
    assert "Mother (id 5001)" in cards and "Wu (id 7001)" in cards
    assert "9001" not in cards and "9000" not in cards


async def test_a_vague_sighting_place_is_not_pinned_on_a_landmark(
    world: World, fake: FakeBotApi, tmp_path: Any
) -> None:
    """ "a" or "gate" among three gates would pin the sighting on whichever landmark came
    first, and move the search there: the sighter is asked to be more precise instead."""
    from searchbot.cases.places import import_landmarks

    gates = {name: offset(CENTRE, 100 * n, 50) for n, name in enumerate(("East", "West", "North"))}
    table = tmp_path / "landmarks.csv"
    table.write_text("name,aliases,lat,lon\n" + "".join(
        f"{name} Gate,,{lat},{lon}\n" for name, (lat, lon) in gates.items()
    ), encoding="utf-8")  # fmt: skip
    assert await import_landmarks(world.services.sessions, table) == 3
    (group,) = await world.seed_groups([offset(CENTRE, 60)], -101)
    case_id = await world.report(fake.user(5001, first_name="Mother", language_code="en"))
    alert = next(m for m in fake.messages(group) if m.photo_file_id)
    link = next(b["url"] for row in alert.buttons for b in row if "url" in b)
    sighter = fake.user(7001, first_name="Wu", language_code="en")
    await world.says(sighter, "/start " + link.split("start=", 1)[1])
    for vague in ("a", "gate", "Gate ", "e"):
        answer = await world.says(sighter, vague)
        assert "could be several places" in answer.body, vague
    answer = await world.says(sighter, "west gate")
    assert say("en", "seen_ask_photo") == answer.html or "photo" in answer.body
    skip = await world.taps(sighter, answer, "Skip")
    assert skip is not None
    when = await world.says(sighter, "running")
    await world.taps(sighter, when, "Just now")
    async with world.services.sessions() as session:
        (sighting,) = (await session.exec(select(Sighting))).all()
    assert sighting.case_id == case_id
    assert (sighting.lat, sighting.lon) == gates["West"]


async def test_the_report_dialogue_buttons_do_nothing_in_a_group(
    world: World, fake: FakeBotApi
) -> None:
    """A report confirmed from a group would send the family's messages to that group: the
    dialogue's buttons answer only in the private chat."""
    (group,) = await world.seed_groups([offset(CENTRE, 60)], -101)
    family = fake.user(5001, first_name="Mother", language_code="en")
    fake.add_member(group, family)
    summary = await world.draft_report(family)
    in_group = fake.send(family, chat=group, text="hello")
    await world.settle()
    before = await snapshot(world)
    for data in ("d:confirm", "d:edit", "d:cancel"):
        heard = await press(world, family, data, on=in_group)
        assert heard.says(say("en", "private_only")), (data, str(heard))
        assert heard.messages == [], data
    assert changes(before, await snapshot(world)) == []
    done = await world.taps(family, summary, "Confirm")  # still there, in private
    assert done is not None and "is open" in done.body


async def test_cases_lists_the_newest_first_and_says_how_many_more(
    world: World, fake: FakeBotApi
) -> None:
    officer = await world.officer()
    first = await world.report(fake.user(5001, first_name="Mother", language_code="en"))
    async with world.services.sessions() as session:
        case = await session.get(Case, first)
        assert case is not None
        clone = case.model_dump(exclude={"id"}) | {"place_text": "Yu Garden, east gate " * 5}
        connection = await session.connection()
        await connection.execute(insert(Case), [clone] * 120)
        await session.commit()
    answer = await world.says(officer, "/cases")
    lines = answer.body.splitlines()
    assert lines[0].startswith(f"#{first + 120} ")  # the newest first
    shown = [line for line in lines if line.startswith("#")]
    assert len(shown) < 121 and len(answer.body) <= 4096
    assert say("en", "cases_more", count=121 - len(shown)) == lines[-1]
    assert f"#{first} " not in answer.body  # the oldest is the one left out


# --- an officer of another station -----------------------------------------------------------

FAR_STATION = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "Airport", "officer_chat_id": -100301, "admin_ids": [9301]},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [121.78, 31.13],
                        [121.82, 31.13],
                        [121.82, 31.17],
                        [121.78, 31.17],
                        [121.78, 31.13],
                    ]
                ],
            },  # fmt: skip
        }
    ],
}
# What an officer of another station may still do about the cast's station: the desk's lists
# (which show their own station's, here nothing) and what anyone may do.
NEIGHBOUR_MAY = {"/cases", "/groups", "/stats", "/block", "/unblock"}


@pytest.mark.slow
async def test_an_officer_of_another_station_is_refused_what_is_not_theirs(
    fake: FakeBotApi, database_url: str, tmp_path: Any
) -> None:
    """The cast's cases and groups belong to the default station (the service area holds
    them); the Airport station's administrator is an officer, but not of theirs."""
    from searchbot.cases.stations import import_stations

    area = f"{CENTRE[0]},{CENTRE[1]},20000"
    settings = world_settings(fake, database_url, SEARCHBOT_SERVICE_AREA=area)
    async with World(fake, settings) as world:
        path = tmp_path / "far.geojson"
        path.write_text(json.dumps(FAR_STATION), encoding="utf-8")
        await import_stations(world.services.sessions, path, world.clock())
        cast = await build_cast(world, fake)
        neighbour = fake.user(9301, first_name="Chief Airport", language_code="en")
        await world.says(neighbour, "/start")
        cast.people["neighbour"] = neighbour
        refusals = (*REFUSALS, say("en", "not_your_station", ref=f"#{cast.case}"),
                    say("en", "not_your_station", ref=f"#{cast.other_case}"))  # fmt: skip
        failures: list[str] = []
        for action in actions(cast):
            desk = action.what in NEIGHBOUR_MAY or action.what.split()[0] in NEIGHBOUR_MAY
            allowed = action.allowed == EVERYONE or ("officer" in action.allowed and desk)
            before = await snapshot(world)
            heard = await perform(world, cast, "neighbour", action)
            after = await snapshot(world)
            refused = any(heard.says(r) for r in refusals)
            if allowed and (refused or not heard.answered):
                failures.append(f"neighbour / {action.label}: refused {heard}")
            if not allowed and not refused:
                failures.append(f"neighbour / {action.label}: not refused {heard}")
            if not allowed and (changed := changes(before, after)):
                failures.append(f"neighbour / {action.label}: changed {changed}")
        listing = await send(world, neighbour, "/cases")
        assert not any(f"#{c}" in t for t in listing.texts for c in (cast.case, cast.other_case))
    assert failures == []
    assert fake.violations == []
