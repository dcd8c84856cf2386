"""The bot's Telegram Stars, as the dispatcher spends them on paid broadcast.

The balance is read (getMyStarBalance) at start and again before each paid burst: a burst
begins when a paid row is due after ``BURST_GAP`` seconds without one, or after Telegram refused
a paid send for the balance. What the balance cannot pay for (keeping Telegram's minimum) goes
at the free rate instead, the farthest groups first, and the officers of each case hear of it
once. Nothing is lost either way: a paid row that falls back is an ordinary row again.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from sqlalchemy import func, update
from sqlmodel import col, select

from searchbot.cases.services import Services
from searchbot.delivery.line import Job
from searchbot.delivery.outcomes import DeliveryError, Transient
from searchbot.domain.broadcast import MINIMUM_BALANCE, affordable, stars_text
from searchbot.domain.events import StarsShort
from searchbot.models import OutboxMessage, OutboxStatus

log = logging.getLogger("searchbot.delivery.dispatcher")

BURST_GAP = 2.0  # seconds without a paid send after which the next one starts a new burst


class Unreachable(Exception):
    """Telegram did not answer the balance's read (a timeout, a 5xx): no burst begins, and its
    rows wait still paid (the dispatcher counts the failure towards an outage)."""


class Balance(Protocol):
    async def star_balance(self) -> Decimal: ...


class Stars:
    """What the balance still pays for; ``now`` is a monotonic clock (injectable)."""

    def __init__(
        self, services: Services, bank: Balance, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._services = services
        self._bank = bank
        self._now = now
        self.balance: Decimal | None = None  # as last read; None: it could not be read
        self._spent = 0  # paid messages delivered since that read
        self._last_paid = -math.inf
        self._stale = True  # read the balance again before the next paid row
        self._told: set[int] = set()  # cases whose officers heard that the Stars ran short

    async def start(self) -> None:
        """Read the balance once at start, so that the log says what paid broadcast has."""
        try:
            await self._read()
        except Unreachable as error:
            log.warning("could not read the Stars balance at start: %s", error)
        budget = stars_text(self._services.settings.paid_broadcast_stars)
        if self.balance is not None:
            log.log(
                logging.INFO if affordable(self.balance) else logging.WARNING,
                "Stars balance %s; paid broadcast up to %s Stars a case (%s messages now; "
                "Telegram keeps %s Stars)", stars_text(self.balance), budget,
                affordable(self.balance), stars_text(MINIMUM_BALANCE),
            )  # fmt: skip

    def spent(self) -> None:
        """A paid send went through: Telegram took its Stars."""
        self._spent += 1

    async def cover(self, jobs: Sequence[Job], unwritten: int = 0) -> list[Job]:
        """Before paid rows go: the balance read again if a burst begins; the paid rows the
        balance cannot pay for go free, farthest first (officers hear once per case).
        ``unwritten``: paid sends that went through (paid for) whose rows still say sending.
        Returns those of ``jobs`` still paid."""
        now = self._now()
        if self._stale or now - self._last_paid > BURST_GAP:
            await self._read()
        self._last_paid = now
        can = affordable(self.balance) - self._spent if self.balance is not None else 0
        needed = await self._unsettled() - unwritten
        if needed <= can:
            return list(jobs)
        dropped = await self._unpay_farthest(needed - max(can, 0))
        return [job for job in jobs if job.id not in dropped]

    async def refused(self, job: Job) -> None:
        """Telegram refused a paid send for the balance: it goes again now, free; the balance
        is read again before the next paid row."""
        self._stale = True
        async with self._services.sessions() as session:
            await session.exec(  # type: ignore[call-overload]
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == job.id)
                .values(paid=False, status=OutboxStatus.PENDING, next_attempt_at=self._services.now())
            )  # fmt: skip
            await session.commit()
        log.warning("paid send of row %s refused for the balance: it goes free", job.id)
        if job.case_id is not None:
            await self._tell({job.case_id: 1})

    async def _read(self) -> None:
        try:
            self.balance = await self._bank.star_balance()
        except Transient as error:  # read again before the next paid row
            self._stale = True
            raise Unreachable(str(error)) from error
        except DeliveryError as error:  # nothing is paid for on a balance nobody knows
            log.warning("could not read the Stars balance: %s", error)
            self.balance = None
        self._spent, self._stale = 0, self.balance is None

    async def _unsettled(self) -> int:
        """Paid rows not yet delivered (waiting, or in the air: not yet charged)."""
        async with self._services.sessions() as session:
            query = select(func.count()).where(
                col(OutboxMessage.paid).is_(True),
                col(OutboxMessage.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
            )
            return int((await session.exec(query)).one())  # type: ignore[call-overload]

    async def _unpay_farthest(self, count: int) -> set[int]:
        """The ``count`` farthest waiting paid rows go free; each case's officers are told."""
        async with self._services.sessions() as session:
            rows = (
                await session.exec(
                    select(OutboxMessage.id, OutboxMessage.case_id)
                    .where(col(OutboxMessage.paid).is_(True))
                    .where(col(OutboxMessage.status) == OutboxStatus.PENDING)
                    .order_by(col(OutboxMessage.rank).desc(), col(OutboxMessage.id).desc())
                    .limit(count)
                )
            ).all()
            ids = {row_id for row_id, _ in rows if row_id is not None}
            await session.exec(  # type: ignore[call-overload]
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_(ids))
                .where(col(OutboxMessage.status) == OutboxStatus.PENDING)  # none sent meanwhile
                .values(paid=False)
            )
            await session.commit()
        balance = "unknown" if self.balance is None else stars_text(self.balance)
        log.warning("Stars balance %s: %s paid alert(s) go free instead", balance, len(ids))
        await self._tell(Counter(c for _, c in rows if c is not None))
        return ids

    async def _tell(self, unpaid: Mapping[int, int]) -> None:
        """Officers of each case hear once that its alerts go free (``unpaid``: how many, by
        case). Told apart from the rows' change, which must stand whatever happens here: two
        sends refused at once would write the same notice twice (its key stops the second)."""
        for case_id, count in sorted(unpaid.items()):
            if case_id in self._told:
                continue
            self._told.add(case_id)
            try:
                async with self._services.sessions() as session:
                    await self._services.publish(session, StarsShort(case_id, count, self.balance))
                    await session.commit()
            except Exception:  # told by another process meanwhile, or the database hiccupped
                log.exception("telling the officers of case %s that Stars ran short", case_id)
