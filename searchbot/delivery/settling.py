"""What a send came to, written back to its row: sent (with its message id), tried again later
(a 429's wait, a transient failure's backoff), dead, followed to a group's new supergroup id, or
stuck (a photo Telegram keeps). Officers hear of what they must: failed alerts and stuck photos.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import Update, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases import closing, registration
from searchbot.cases.services import Services
from searchbot.delivery.line import Job
from searchbot.delivery.outcomes import (
    DeliveryError,
    Gone,
    Moved,
    Rejected,
    Stuck,
    Throttled,
    Transient,
)
from searchbot.delivery.throttle import Throttle
from searchbot.domain.events import DeliveryFailed, PhotoStuck
from searchbot.models import Case, CaseStatus, OutboxMessage, OutboxStatus
from searchbot.models import queries as q
from searchbot.models.db import committed_as_run
from searchbot.models.outbox import RETRACTION_KINDS, Kind, Lane
from searchbot.operations.health import Metrics
from searchbot.operations.logs import chat as log_chat

log = logging.getLogger("searchbot.delivery.dispatcher")

MAX_BACKOFF = 60.0


class Settler:
    """Settles each send's row; ``wake`` tells the dispatcher that rows may go again."""

    def __init__(
        self, services: Services, throttle: Throttle, metrics: Metrics, wake: Callable[[], None]
    ) -> None:
        self._services = services
        self._writes = committed_as_run(services.sessions)
        self._throttle = throttle
        self._metrics = metrics
        self._wake = wake

    async def sent(self, job: Job, message_id: int | None) -> None:
        self._metrics.sent(job.kind, "ok")
        log.info(
            "sent %s case=%s chat=%s message=%s",
            job.kind,
            job.case_id,
            log_chat(job.chat_id),
            message_id,
        )
        settled = (
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == job.id)
            .values(
                status=OutboxStatus.SENT,
                message_id=message_id,
                sent_at=self._services.now(),
                attempts=job.attempts + 1,
                # a conversation's answer keeps no words once sent (_forget_reply)
                **({"payload": {}} if job.kind == Kind.REPLY else {}),
            )
        )
        if await self._settled_alone(job, settled):
            return
        async with self._services.sessions() as session:  # closed while it was sent?
            await session.exec(settled)  # type: ignore[call-overload]
            await self._retract(session, job)
            await session.commit()

    async def _settled_alone(self, job: Job, settled: Update) -> bool:
        """Write a send back by one statement on a connection that commits it as it runs
        (``db.committed_as_run``): a session cost as much CPU again as the statement, and a
        transaction left open by a leader stopped mid-write would hold the row's lock, so the
        next leader's recovery would wait for it as long as the old one stayed stopped. False,
        with nothing written, for an alert whose case was closed while it was sent (or whose
        row another leader put back in the line): it is settled in a session, and taken back
        in the same transaction if its case is closed."""
        if job.kind == Kind.ALERT and job.case_id is not None:
            # A close cancels the alerts in flight (``closing``): the condition on the row
            # itself is checked again by PostgreSQL once a close under way that holds the row
            # ends. The case's status alone was read as it was before that close committed,
            # while the close did not see this alert as sent, and a photo stayed in its group.
            closed = select(Case.id).where(Case.id == job.case_id, Case.status != CaseStatus.OPEN)
            settled = settled.where(
                col(OutboxMessage.status) == OutboxStatus.SENDING, ~closed.exists()
            )
        async with self._writes.begin() as connection:
            result = await connection.execute(settled)
        return bool(result.rowcount)

    async def sent_many(self, sent: Sequence[tuple[Job, int | None]]) -> None:
        """Sends that went through, written back in one transaction (a paid burst makes a
        thousand a second): each row sent with its message id, each case's paid alerts
        added to what it cost, and an alert whose case closed meanwhile taken back."""
        now = self._services.now()
        for job, message_id in sent:
            self._metrics.sent(job.kind, "ok")
            log.debug("sent %s case=%s chat=%s message=%s", job.kind, job.case_id,
                      log_chat(job.chat_id), message_id)  # fmt: skip
        rows = [{"id": job.id, "message_id": message_id, "attempts": job.attempts + 1,
                 "status": OutboxStatus.SENT, "sent_at": now} for job, message_id in sent]  # fmt: skip
        paid = Counter(job.case_id for job, _ in sent if job.paid and job.case_id is not None)
        async with self._services.sessions() as session:
            await session.exec(update(OutboxMessage), params=rows)  # type: ignore[call-overload]
            for case_id, count in paid.items():
                await session.exec(  # type: ignore[call-overload]
                    update(Case)
                    .where(col(Case.id) == case_id)
                    .values(paid_messages=col(Case.paid_messages) + count)
                )
            cases = {job.case_id for job, _ in sent if job.kind == Kind.ALERT and job.case_id}
            closed = set(
                (
                    await session.exec(
                        select(Case.id).where(
                            col(Case.id).in_(cases), col(Case.status) != CaseStatus.OPEN
                        )
                    )
                ).all()
            )
            for job, _ in sent:
                if job.kind == Kind.ALERT and job.case_id in closed:
                    await self._retract(session, job)
            await session.commit()
        log.info("sent %s rows (%s paid)", len(sent), sum(paid.values()))

    async def _retract(self, session: AsyncSession, job: Job) -> None:
        """The alert reached its group after its case closed: take it back at once (an alert
        of an open case stays: its row was put back in the line by another leader's recovery)."""
        case = await session.get(Case, job.case_id)
        row = await session.get(OutboxMessage, job.id)
        if case is not None and row is not None and case.status != CaseStatus.OPEN:
            await closing.retract(self._services, session, case, row)
            self._wake()

    async def failed(self, job: Job, error: DeliveryError) -> None:
        result = type(error).__name__.lower()
        self._metrics.sent(job.kind, result)
        log.info(
            "%s %s case=%s chat=%s attempt=%s: %s",
            result, job.kind, job.case_id, log_chat(job.chat_id), job.attempts + 1, error,
        )  # fmt: skip
        if isinstance(error, Throttled):
            before = self._throttle.overall_429s
            self._throttle.throttled(job.chat_id, error.seconds)
            if self._throttle.overall_429s > before:
                self._metrics.overall_pauses.inc()
                log.warning(
                    "429s for several chats: over the overall limit; every send pauses %.0f s "
                    "and the rate drops to %.1f/s", error.seconds, self._throttle.rate(),
                )  # fmt: skip
            await self._retry(job, error.seconds, str(error), count_attempt=False)
        elif isinstance(error, Moved):
            await self._move(job, error.new_chat_id)
        elif isinstance(error, Gone):
            await self._gone(job, str(error))
        elif isinstance(error, Stuck):
            await self._stuck(job, job.chat_id, str(error))
        elif (
            isinstance(error, Transient) and job.attempts + 1 < self._services.settings.max_attempts
        ):
            base = self._services.settings.retry_seconds
            backoff = min(MAX_BACKOFF, base * 2.0**job.attempts)
            await self._retry(job, backoff, str(error), count_attempt=True)
        else:
            await self._dead(
                job, str(error), tell=not isinstance(error, Rejected) or job.lane == Lane.ALERTS
            )

    async def held(self, job: Job, error: str) -> None:
        """Telegram is out of reach: the row goes back to the line as it was (no attempt used
        up), to go when Telegram answers again."""
        self._metrics.sent(job.kind, "held")
        await self._retry(job, 0.0, error, count_attempt=False)

    async def _retry(self, job: Job, after: float, error: str, *, count_attempt: bool) -> None:
        """The row waits ``after`` seconds, then goes again: one statement that commits itself,
        like a send's write-back (see ``_settled_alone``). A row cancelled while its call was
        in the air (its case closed) stays cancelled."""
        async with self._writes.begin() as connection:
            await connection.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == job.id)
                .where(col(OutboxMessage.status).in_((OutboxStatus.SENDING, OutboxStatus.PENDING)))
                .values(
                    status=OutboxStatus.PENDING,
                    next_attempt_at=self._services.now() + timedelta(seconds=after),
                    attempts=job.attempts + (1 if count_attempt else 0),
                    last_error=error[:512],
                )
            )
        self._wake()

    async def _dead(self, job: Job, error: str, tell: bool = True) -> None:
        log.warning("outbox row %s to %s is dead: %s", job.id, log_chat(job.chat_id), error)
        async with self._services.sessions() as session:
            row = await session.get(OutboxMessage, job.id)
            if row is None:
                return
            _mark_dead(row, job, error)
            _forget_reply(row)
            session.add(row)
            if tell and job.kind in (Kind.ALERT, *RETRACTION_KINDS):
                failed = DeliveryFailed(job.id, job.case_id, job.chat_id, error)
                await self._services.publish(session, failed)
            await session.commit()
        self._wake()

    async def _gone(self, job: Job, error: str) -> None:
        await registration.recipient_gone(self._services, job.chat_id, error)
        self._wake()

    async def _move(self, job: Job, new_chat_id: int) -> None:
        """The group became a supergroup: follow it and send there. A retraction is not
        moved: its message id belongs to the old chat (and went with it); used against the new
        chat it would delete another message. Officers hear that the old photo may remain."""
        async with self._services.sessions() as session:
            group = await q.group_by_chat(session, job.chat_id)
            if group is not None and await q.group_by_chat(session, new_chat_id) is None:
                group.chat_id = new_chat_id
                session.add(group)
            waiting = col(OutboxMessage.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING))
            old_chat = col(OutboxMessage.chat_id) == job.chat_id
            retractions = (
                await session.exec(
                    select(OutboxMessage).where(
                        old_chat, waiting, OutboxMessage.kind == Kind.RETRACT
                    )
                )
            ).all()
            for row in retractions:
                row.status, row.last_error = OutboxStatus.DEAD, f"chat migrated to {new_chat_id}"
                session.add(row)
            await session.exec(  # type: ignore[call-overload]
                update(OutboxMessage)
                .where(old_chat, waiting, col(OutboxMessage.kind) != Kind.RETRACT)
                .values(chat_id=new_chat_id, status=OutboxStatus.PENDING)
            )
            for row in retractions:
                title = group.title if group is not None else str(job.chat_id)
                await self._tell_stuck(session, row.id or 0, row.case_id, title, new_chat_id)
            await session.commit()
        log.info("chat %s migrated to %s", job.chat_id, new_chat_id)
        self._wake()

    async def _stuck(self, job: Job, chat_id: int, error: str) -> None:
        """Telegram kept an alert photo: the row is dead and officers learn where it stays."""
        log.warning("outbox row %s: the photo stays in %s: %s", job.id, chat_id, error)
        async with self._services.sessions() as session:
            row = await session.get(OutboxMessage, job.id)
            if row is None:
                return
            _mark_dead(row, job, error)
            session.add(row)
            group = await q.group_by_chat(session, chat_id)
            title = group.title if group is not None else str(chat_id)
            await self._tell_stuck(session, job.id, job.case_id, title, chat_id)
            await session.commit()
        self._wake()

    async def _tell_stuck(
        self, session: AsyncSession, row_id: int, case_id: int | None, title: str, chat_id: int
    ) -> None:
        await self._services.publish(session, PhotoStuck(row_id, case_id, title, chat_id))


def _mark_dead(row: OutboxMessage, job: Job, error: str) -> None:
    """The row is given up: it counts this attempt and keeps why."""
    row.status, row.attempts, row.last_error = OutboxStatus.DEAD, job.attempts + 1, error[:512]


def _forget_reply(row: OutboxMessage) -> None:
    """A conversation's answer (a report's summary, say) belongs to no case, so retention
    would never purge it: once settled, its words are not kept."""
    if row.kind == Kind.REPLY:
        row.payload = {}
