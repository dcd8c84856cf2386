"""Against a Bot API as strict as Telegram (cool-downs after a 429, every chat about one
message a second, groups 20 a minute): a person who taps through the report as fast as the
questions come gets every question, and a registration flood from one group holds back
neither the officers' card of a new case nor its first alert."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select

from fakegram import FakeBotApi, FakeMessage, FakeUser, Limits
from searchbot.models import OutboxMessage
from searchbot.words.texts import say
from tests.world import CENTRE, World, offset, world_settings

pytestmark = pytest.mark.slow  # every test here waits on Telegram's pace or a restart

OFFICERS = -777
QUESTIONS = ("ask_photo", "ask_name", "ask_age", "ask_sex", "ask_description", "ask_place",
             "ask_time", "ask_contact")  # fmt: skip


@pytest.fixture
async def strict() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(bot_username="searchbot_test_bot", limits=Limits.telegram()) as fake:
        yield fake


def strict_world(fake: FakeBotApi, database_url: str, **overrides: Any) -> World:
    settings = world_settings(
        fake, database_url, SEARCHBOT_CHAT_PER_SECOND=1, SEARCHBOT_OFFICER_CHAT_ID=OFFICERS,
        **overrides,
    )  # fmt: skip
    return World(fake, settings)


class Hasty:
    """A person who answers each question the moment it arrives (within a poll of 10 ms)."""

    def __init__(self, fake: FakeBotApi, user: FakeUser) -> None:
        self.fake, self.user = fake, user
        self.seen = 0
        self.reactions: list[float] = []  # question there -> answered
        self.waits: list[float] = []  # answered -> next message there
        self._answered: float | None = None
        self._arrived = 0.0

    async def asked(self, button: str | None = None) -> FakeMessage:
        """The next message from the bot (with ``button`` if given)."""

        def arrived() -> FakeMessage | None:
            new = self.fake.messages(self.user.user_id)[self.seen :]
            if button is not None:
                return next((m for m in new if m.find_button(button)), None)
            return new[0] if new else None

        message: FakeMessage = await self.fake.wait_for(arrived, timeout=15, interval=0.01)
        self.seen = self.fake.messages(self.user.user_id).index(message) + 1
        self._arrived = time.monotonic()
        if self._answered is not None:
            self.waits.append(self._arrived - self._answered)
        return message

    def says(self, **what: Any) -> None:
        self._act()
        self.fake.send(self.user, **what)

    def taps(self, message: FakeMessage, button: str) -> None:
        self._act()
        self.fake.click(self.user, message, button)

    def _act(self) -> None:
        self._answered = time.monotonic()
        self.reactions.append(self._answered - self._arrived)

    async def report(self) -> FakeMessage:
        """The whole report, each answer given as soon as its question is there; returns the
        summary with Confirm."""
        self.seen = len(self.fake.messages(self.user.user_id))
        self.fake.send(self.user, text="/report")
        await self.asked()
        self.says(photo=True)
        self.taps(await self.asked("Next"), "Next")
        await self.asked()
        self.says(text="Xiao Ming")
        await self.asked()
        self.says(text="6")
        self.taps(await self.asked("Boy"), "Boy")
        await self.asked()
        self.says(text="red T-shirt, blue shorts, 110 cm")
        await self.asked()
        self.says(location=CENTRE)
        self.taps(await self.asked("Just now"), "Just now")
        await self.asked()
        self.says(text="13800138000")
        return await self.asked("Confirm")


def _position(bodies: list[str], start: str) -> int:
    found = [i for i, body in enumerate(bodies) if body.startswith(start)]
    assert found, f"never asked: {start!r}"
    return found[0]


async def test_a_person_answering_at_once_gets_every_question_and_a_case_number(
    strict: FakeBotApi, database_url: str
) -> None:
    fake = strict
    async with strict_world(fake, database_url) as world:
        await world.officer()
        family = fake.user(5001, first_name="Mother", language_code="en")
        hasty = Hasty(fake, family)
        fake.fail_next(family, status=429, count=1)  # Telegram refuses one of the replies
        summary = await hasty.report()
        hasty.taps(summary, "Confirm")
        done = await fake.wait_for(
            lambda: next((m for m in fake.messages(family) if "is open" in m.body), None),
            timeout=15,
        )
        assert "#1" in done.body
        bodies = [m.body for m in fake.messages(family)]
        asked = [_position(bodies, say("en", key, max=1000)[:20]) for key in QUESTIONS]
        assert asked == sorted(asked)  # every question reached the person, in the order asked
        assert fake.count_429_by_kind["injected"] == 1  # and the refused reply came later
        assert fake.violations == []
        waits = sorted(hasty.waits)
        print(
            f"slowest reaction {max(hasty.reactions):.3f} s; answer to next message: median "
            f"{waits[len(waits) // 2]:.2f} s, max {waits[-1]:.2f} s; 429s {fake.count_429_by_kind}"
        )


async def test_a_registration_flood_holds_back_neither_the_card_nor_the_first_alert(
    strict: FakeBotApi, database_url: str
) -> None:
    fake = strict
    async with strict_world(fake, database_url) as world:
        officer = await world.officer()
        fake.group(OFFICERS, "Officers", admins=[officer.user_id])
        chats = await world.seed_groups([offset(CENTRE, 100 + 20 * i) for i in range(3)])
        owner = fake.user(7100, first_name="Flooder", language_code="en")
        flooder = fake.group(-4242, "Flood shop", admins=[owner.user_id])
        fake.send(owner, chat=flooder, text="/register merchant")
        prompt = await fake.wait_for(lambda: fake.last(flooder), timeout=10)
        for _ in range(40):  # about seven seconds of typing for anyone
            fake.send(owner, chat=flooder, text="/register merchant")
            fake.send(owner, chat=flooder, location=offset(CENTRE, 900), reply_to=prompt)
            fake.send(owner, chat=flooder, text="/unregister")
        await fake.wait_for(lambda: fake.updates_consumed, timeout=30)
        await fake.wait_for(lambda: not world._handling(), timeout=60)

        family = fake.user(5001, first_name="Mother", language_code="en")
        summary = await Hasty(fake, family).report()
        confirmed = time.monotonic()
        fake.click(family, summary, "Confirm")

        def first(chat_ids: set[int], marker: str) -> Any:
            return next(
                (c for c in fake.calls if c.ok and c.at >= confirmed
                 and c.method in ("sendMessage", "sendPhoto")
                 and int(c.params["chat_id"]) in chat_ids
                 and marker in str(c.params.get("text") or c.params.get("caption"))),
                None,
            )  # fmt: skip

        card = await fake.wait_for(lambda: first({OFFICERS}, "#1"), timeout=30)
        alert = await fake.wait_for(lambda: first({c.chat_id for c in chats}, "#1"), timeout=30)
        print(
            f"after Confirm: officers' card {card.at - confirmed:.2f} s, "
            f"first alert {alert.at - confirmed:.2f} s; 429s {fake.count_429_by_kind}"
        )

        async with world.services.sessions() as session:
            flood = (
                await session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == -4242))
            ).all()
        # the card and the alert did not wait for the flood's answers (20 a minute to its group)
        assert [r for r in flood if r.status == "pending"]
        # the officers heard of one request at most: the rest were refused in the group
        requests = [
            c for c in fake.calls
            if c.ok and c.method == "sendMessage" and int(c.params["chat_id"]) == OFFICERS
            and "Flood shop" in str(c.params.get("text"))
        ]  # fmt: skip
        assert len(requests) <= 1
        refused = say("en", "register_cooldown", minutes=60).split("(")[0][:30]
        assert any(
            refused[:20] in str(c.params.get("text")) for c in fake.calls
            if c.method == "sendMessage" and int(c.params["chat_id"]) == -4242
        )  # fmt: skip
        assert fake.violations == []


async def test_a_chart_refused_with_a_429_still_arrives(world: World, fake: FakeBotApi) -> None:
    """Uploads cannot be outbox rows: they are sent directly and wait out a 429."""
    officer = await world.officer()
    fake.fail_next(officer, status=429, count=2)  # the figures' text, then its retry
    fake.send(officer, text="/stats")
    chart = await fake.wait_for(
        lambda: next((m for m in fake.messages(officer) if m.photo_file_id), None), timeout=15
    )
    assert chart is not None
    refused = [c for c in fake.calls if c.error_code == 429]
    sent = [
        c for c in fake.calls
        if c.ok and c.method == "sendMessage" and int(c.params["chat_id"]) == officer.user_id
        and c.at > refused[0].at
    ]  # fmt: skip
    assert len(refused) == 2 and sent  # the text came after its 429s, then the chart
    assert fake.violations == []
