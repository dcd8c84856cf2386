"""A rehearsal: the real bot against the fake Bot API, and the moves people make (an officer
starts the bot, a group registers, a family reports). The end-to-end tests and ``searchbot
demo`` both play their searches with it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from geopy.distance import geodesic

from fakegram import FakeBotApi, FakeChat, FakeMessage, FakeUser
from searchbot import app
from searchbot.delivery.line import outbox_empty
from searchbot.domain.grid import cells_of
from searchbot.models import Group, GroupRole, GroupStatus
from searchbot.models.db import Sessions
from searchbot.settings import Settings, load_settings
from searchbot.telegram.update_order import ChatOrderedUpdates

CENTRE = (31.2304, 121.4737)  # the last-seen place in most tests
OFFICER_ID = 9001
QUIET = 0.1  # seconds without a Bot API call after which the bot is taken to be done
# The same for a bot in this process, where the World also sees every update and outbox row
# in hand: the quiet only has to cover the few event-loop turns between one step and the next.
IN_PROCESS_QUIET = 0.02
SETTLE_RECHECK = (0.01, 0.2)  # seconds between looks at an outbox that waits on no call
TICK_JOB = "escalation-tick"  # the bot's repeating job for stages, reminders and exit checks
ADMIN_ID = 9000


def offset(point: tuple[float, float], north_m: float, east_m: float = 0.0) -> tuple[float, float]:
    """The point ``north_m`` metres north and ``east_m`` east of ``point`` (geodesic)."""
    moved = geodesic(meters=abs(north_m)).destination(point, 0 if north_m >= 0 else 180)
    moved = geodesic(meters=abs(east_m)).destination(moved, 90 if east_m >= 0 else 270)
    return (moved.latitude, moved.longitude)


def world_settings(fake: FakeBotApi, database_url: str, **overrides: Any) -> Settings:
    return load_settings(**world_environment(fake, database_url, **overrides))


def world_environment(fake: FakeBotApi, database_url: str, **overrides: Any) -> dict[str, str]:
    """The configuration of a bot playing in this world, as environment variables."""
    values: dict[str, Any] = {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "TELEGRAM_API_FILE_URL": fake.file_url,
        "DATABASE_URL": database_url,
        "SEARCHBOT_ADMIN_IDS": str(ADMIN_ID),
        "SEARCHBOT_ESCALATION": "0:300,1h:1000,2h:2500",
        "SEARCHBOT_LANGUAGE": "en",
        "SEARCHBOT_TICK_SECONDS": 0.2,
        "SEARCHBOT_CHAT_PER_SECOND": 10,  # the throttle has tests of its own; keep these quick
    }
    values.update(overrides)
    return {name: str(value) for name, value in values.items()}


def free_port() -> int:
    """A TCP port free on this machine now (for the command room of a test or the demo)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def command_room_environment() -> dict[str, str]:
    """Settings that turn the command room on, on a free local port, without map tiles (no
    network in tests)."""
    port = free_port()
    return {
        "SEARCHBOT_WEB_LISTEN": f"127.0.0.1:{port}",
        "SEARCHBOT_WEB_URL": f"http://127.0.0.1:{port}",
        "SEARCHBOT_MAP_TILES": "",
    }


def init_data(token: str, user: FakeUser, auth_date: datetime | None = None, **fields: str) -> str:
    """Mini App init data for ``user``, signed the way Telegram signs it: HMAC-SHA256 of the
    sorted ``key=value`` lines, keyed with HMAC-SHA256("WebAppData", bot token)."""
    moment = auth_date or datetime.now(UTC)
    person = {
        "id": user.user_id,
        "first_name": user.first_name,
        "language_code": user.language_code,
    }
    values = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(person, separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(int(moment.timestamp())),
        **fields,
    }
    check = "\n".join(f"{key}={values[key]}" for key in sorted(values))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    values["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(values)


def mini_app_link(url: str, signed: str) -> str:
    """How Telegram opens a Mini App: the init data and the client's details in the fragment."""
    return f"{url}#" + urlencode(
        {"tgWebAppData": signed, "tgWebAppVersion": "8.0", "tgWebAppPlatform": "tdesktop"}
    )


def _has_button(message: FakeMessage, text: str) -> bool:
    return any(text in button.get("text", "") for row in message.buttons for button in row)


class Player:
    """The people of a search, played through the fake Bot API. The bot may run in this
    process (``World``) or in another one."""

    def __init__(self, fake: FakeBotApi) -> None:
        self.fake = fake

    async def settle(self, timeout: float = 20.0) -> None:
        """Wait until the bot has fetched every update and fallen quiet."""
        await self.fake.wait_idle(quiet=QUIET, timeout=timeout)

    # --- waiting -------------------------------------------------------------------------

    async def says(
        self, user: FakeUser, text: str | None = None, *, asks: str | None = None, **kwargs: Any
    ) -> FakeMessage:
        """``user`` sends a private message; returns the bot's last answer after it settles.
        With ``asks``, the answer is the new message with a button containing that text, waited
        for: a loaded machine may pause longer than the quiet between two answers."""
        before = len(self.fake.messages(user.user_id))
        self.fake.send(user, text=text, **kwargs)

        def answered() -> FakeMessage | None:
            new = self.fake.messages(user.user_id)[before:]
            if asks is None:
                return new[-1] if new else None
            return next((m for m in reversed(new) if _has_button(m, asks)), None)

        await self.fake.wait_for(lambda: answered() is not None)
        await self.settle()
        answer = answered()
        assert answer is not None
        return answer

    async def taps(self, user: FakeUser, message: FakeMessage, button: str) -> FakeMessage | None:
        chat_id = message.chat_id
        before = len(self.fake.messages(chat_id))
        query_id = self.fake.click(user, message, button)
        await self.fake.wait_for(lambda: query_id in self.fake.callback_answers)
        await self.settle()
        messages = self.fake.messages(chat_id)
        return messages[-1] if len(messages) > before else None

    # --- people --------------------------------------------------------------------------

    async def officer(self, user_id: int = OFFICER_ID) -> FakeUser:
        """An appointed officer who has started the bot."""
        admin = self.fake.user(ADMIN_ID, first_name="Admin", language_code="en")
        await self.says(admin, "/start")
        officer = self.fake.user(user_id, first_name="Officer Li", language_code="en")
        await self.says(officer, "/start")
        if user_id != ADMIN_ID:
            answer = await self.says(admin, f"/officer add {user_id}")
            assert "now an officer" in answer.body
        return officer

    async def group(
        self,
        chat_id: int,
        title: str,
        point: tuple[float, float],
        officer: FakeUser | None,
        role: str = "merchant",
    ) -> FakeChat:
        """A group whose admin registers it at ``point``; approved when ``officer`` is given."""
        admin = self.fake.user(chat_id * -10, first_name=f"Owner of {title}", language_code="en")
        group = self.fake.group(chat_id=chat_id, title=title, admins=[admin.user_id])
        self.fake.send(admin, chat=group, text=f"/register {role}")
        prompt = await self.fake.wait_for(lambda: self.fake.last(chat_id))
        self.fake.send(admin, chat=group, location=point, reply_to=prompt)
        await self.fake.wait_for(
            lambda: "police will review" in (self.fake.last(chat_id) or prompt).body
        )
        await self.settle()
        if officer is not None:
            request = self.request_for(officer, chat_id)
            await self.taps(officer, request, f"Approve: {title}")
        return group

    @staticmethod
    def seen_payload(alert: FakeMessage) -> str:
        """The ``/start`` payload of an alert's "I saw them" link (``seen_<token>``)."""
        url = next(b["url"] for row in alert.buttons for b in row if "url" in b)
        return str(url).split("?start=", 1)[1]

    def request_for(self, officer: FakeUser, chat_id: int) -> FakeMessage:
        """The officer's list of group requests while it names ``chat_id`` (after that: the
        list, edited in place)."""
        listed = None
        for message in reversed(self.fake.messages(officer.user_id)):
            if str(chat_id) in message.body and any("Approve" in t for t in message.button_texts):
                return message
            if listed is None and "group requests" in message.body.lower():
                listed = message
        if listed is not None:
            return listed
        raise AssertionError(f"no request for group {chat_id} reached the officer")

    async def report(
        self, family: FakeUser, point: tuple[float, float] = CENTRE, **answers: Any
    ) -> int:
        """The whole report dialogue, confirmed; returns the new case number."""
        summary = await self.draft_report(family, point, **answers)
        before = len(self.fake.messages(family.user_id))
        await self.taps(family, summary, "Confirm")
        # the first answer, not the last: with seconds-long stages a stage's news may follow
        answers_ = self.fake.messages(family.user_id)[before:]
        done = next((m for m in answers_ if "is open" in m.body), None)
        assert done is not None, [m.body for m in answers_]
        return int(done.body.split("#")[1].split()[0])

    async def draft_report(
        self,
        family: FakeUser,
        point: tuple[float, float] = CENTRE,
        *,
        photo: bool = True,
        name: str = "Xiao Ming",
        age: str = "6",
        description: str = "red T-shirt, blue shorts, 110 cm, short hair",
    ) -> FakeMessage:
        """The report dialogue up to its summary (with the Confirm button) ."""
        await self.says(family, "/report")
        if photo:
            saved = await self.says(family, photo=True, asks="Next")
            await self.taps(family, saved, "Next")
        else:
            await self.says(family, "/skip")
        await self.says(family, name)
        sex = await self.says(family, age, asks="Boy")
        await self.taps(family, sex, "Boy")
        await self.says(family, description)
        when = await self.says(family, location=point, asks="Just now")
        contact = await self.taps(family, when, "Just now")
        assert contact is not None
        return await self.says(family, "13800138000")

    async def found_child(
        self,
        finder: FakeUser,
        point: tuple[float, float],
        *,
        group_chat_id: int | None = None,
        photo: bool = True,
        age: str = "6",
        sex: str = "Boy",
        description: str = "red T-shirt, crying, says his name is Ming",
        with_whom: str = "me, the guard at the east gate",
        phone: str | None = "13900139000",
    ) -> FakeMessage:
        """A child found alone, reported from start to end (from a group's button when
        ``group_chat_id`` is given; without ``phone``, up to that last question); returns the
        bot's last answer."""
        start = f"/start found_{group_chat_id}" if group_chat_id else "/found"
        await self.says(finder, start)
        if photo:
            await self.says(finder, photo=True)
        else:
            await self.says(finder, "/skip")
        sex_question = await self.says(finder, age)
        await self.taps(finder, sex_question, sex)
        await self.says(finder, description)
        await self.says(finder, location=point)
        asked = await self.says(finder, with_whom)
        return await self.says(finder, phone) if phone is not None else asked


class MovableClock:
    """The World's clock: real time plus an offset that a test moves forward. Stages,
    reminders and retention (everything the bot times through ``Services.now()``) see hours
    pass at once, while the bot, the fake Bot API and the tick keep their real pace."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, by: timedelta | float) -> None:
        """Move the clock ``by`` (a timedelta, or seconds) forward."""
        self.offset += by if isinstance(by, timedelta) else timedelta(seconds=by)


class World(Player):
    """The bot running in this process against the fake Bot API, and the people around it,
    on a clock the test can move (``later``)."""

    def __init__(
        self, fake: FakeBotApi, settings: Settings, clock: MovableClock | None = None
    ) -> None:
        super().__init__(fake)
        self.settings = settings
        self.clock = clock or MovableClock()
        self.runtime = app.build(settings, self.clock)
        self.services = self.runtime.services

    async def __aenter__(self) -> World:
        await app.start(self.runtime, timeout=1)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await app.stop(self.runtime)

    async def later(self, by: timedelta | float) -> None:
        """``by`` (a timedelta, or seconds) passes for the bot: the clock moves, the bot's own
        tick runs once on it (stages, reminders, exit checks due by then fire), and the bot
        settles. Its repeating tick keeps running too; both claim each due step atomically,
        as two processes on one database do."""
        self.clock.advance(by)
        await self.tick()
        await self.settle()

    async def tick(self) -> None:
        """Run the bot's repeating tick job once now and wait for it to finish."""
        application = self.runtime.application
        assert application.job_queue is not None
        (job,) = application.job_queue.get_jobs_by_name(TICK_JOB)
        await job.run(application)

    async def settle(self, timeout: float = 20.0) -> None:
        """Wait until every update was handled to the end and the outbox is empty. A quiet
        Bot API alone is not proof: a handler may be busy with the database for a while. Every
        update confirmed by the bot's next poll, none in hand, no outbox row left and no Bot
        API call in progress, twice over a short quiet: then the bot is done.

        While rows wait for their chat's pace (a second each), the outbox is asked again when
        the next call ends, or after a growing pause when none does (a retry waits out its
        429): asking every few milliseconds cost the suite more CPU than the sends did."""
        deadline = time.monotonic() + timeout
        pause = SETTLE_RECHECK[0]
        while True:
            await self.fake.wait_idle(quiet=IN_PROCESS_QUIET, timeout=timeout)
            if self._updates_in_hand():
                pause = SETTLE_RECHECK[0]
                await asyncio.sleep(pause)
            elif await self._outbox_empty():
                await self.fake.wait_idle(quiet=IN_PROCESS_QUIET, timeout=timeout)
                if await self._at_rest():
                    return
            elif await self.fake.wait_call(pause):
                pause = SETTLE_RECHECK[0]
            else:
                pause = min(pause * 2, SETTLE_RECHECK[1])
            if time.monotonic() > deadline:
                raise AssertionError("the bot did not settle: updates in hand or outbox rows")

    async def _at_rest(self) -> bool:
        """No update waiting at the fake or in the bot, and no outbox row to send."""
        return not self._updates_in_hand() and await self._outbox_empty()

    def _updates_in_hand(self) -> bool:
        return bool(self.fake.pending_update_count) or self._handling()

    async def _outbox_empty(self) -> bool:
        return await outbox_empty(self.runtime.engine)

    def _handling(self) -> bool:
        application = self.runtime.application
        processor = application.update_processor
        in_hand = processor.in_flight if isinstance(processor, ChatOrderedUpdates) else 0
        checks = self.services.checks  # presses answered before they were stored
        storing = checks is not None and checks.busy
        return in_hand > 0 or storing or not application.update_queue.empty()

    async def seed_groups(
        self, points: list[tuple[float, float]], first_chat_id: int = -5000
    ) -> list[FakeChat]:
        return await seed_groups(self.services.sessions, self.fake, points, first_chat_id)


async def seed_groups(
    sessions: Sessions,
    fake: FakeBotApi,
    points: list[tuple[float, float]],
    first_chat_id: int = -5000,
) -> list[FakeChat]:
    """Approved groups at ``points`` written straight to the database: registering hundreds
    through the chat flow would only slow a test or a benchmark down."""
    chats, rows = [], []
    for index, (lat, lon) in enumerate(points):
        chat_id = first_chat_id - index
        chats.append(fake.group(chat_id=chat_id, title=f"Group {-chat_id}", admins=[]))
        fine, coarse = cells_of(lat, lon)
        rows.append(
            Group(
                chat_id=chat_id, title=f"Group {-chat_id}", role=GroupRole.MERCHANT, status=GroupStatus.APPROVED,
                lat=lat, lon=lon, cell_fine=fine, cell_coarse=coarse, language="en",
                registered_by=0, created_at=datetime.now(UTC),
            )
        )  # fmt: skip
    async with sessions() as session:
        session.add_all(rows)
        await session.commit()
    return chats
