"""The audit log: who did what to which case, written in the same transaction as the deed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.domain.clock import Clock
from searchbot.models import AuditEntry


@dataclass(frozen=True)
class AuditLog:
    clock: Clock

    async def record(
        self,
        session: AsyncSession,
        actor_user_id: int | None,
        action: str,
        case_id: int | None = None,
        **detail: Any,
    ) -> None:
        """One entry in ``session`` (it commits with the change it records)."""
        session.add(
            AuditEntry(
                at=self.clock(),
                actor_user_id=actor_user_id,
                action=action,
                case_id=case_id,
                detail=detail,
            )
        )
