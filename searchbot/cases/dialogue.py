"""Private dialogues (a report, a sighting) kept as rows, so a restart loses no answer.

An ``Input`` is one thing a person sent, already stripped of Telegram: text, a photo, a pin,
a tapped choice. The flows in ``reporting`` and ``sightings`` turn inputs into answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.services import Services
from searchbot.models import Dialogue


@dataclass(frozen=True)
class Input:
    """What a person sent in a dialogue."""

    text: str | None = None
    photo: str | None = None  # file_id of the largest size
    location: tuple[float, float] | None = None
    venue: str | None = None  # a venue's title (with ``location`` set)
    contact: str | None = None  # a shared phone number
    choice: str | None = None  # a tapped dialogue button
    other_media: bool = False  # a document, sticker, voice...
    forwarded: bool = False

    @property
    def command(self) -> str | None:
        if self.text and self.text.startswith("/"):
            return self.text.split()[0].split("@")[0].lower()
        return None


async def load(session: AsyncSession, user_id: int) -> Dialogue | None:
    return await session.get(Dialogue, user_id)


async def begin(
    services: Services, session: AsyncSession, user_id: int, kind: str, step: str, **data: Any
) -> Dialogue:
    """Start a dialogue, replacing any unfinished one."""
    dialogue = await session.get(Dialogue, user_id)
    if dialogue is None:
        dialogue = Dialogue(user_id=user_id, kind=kind, step=step, updated_at=services.now())
    dialogue.kind, dialogue.step, dialogue.data = kind, step, dict(data)
    dialogue.updated_at = services.now()
    session.add(dialogue)
    return dialogue


def advance(services: Services, dialogue: Dialogue, step: str, **data: Any) -> None:
    """Move to ``step``, remembering ``data`` (JSON columns need a new dict to be saved)."""
    dialogue.data = {**dialogue.data, **data}
    dialogue.step = step
    dialogue.updated_at = services.now()


async def end(session: AsyncSession, dialogue: Dialogue) -> None:
    await session.delete(dialogue)
