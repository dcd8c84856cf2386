"""What stations hear at their borders: a neighbour whose area a ring reached gets one notice
(case number, owning station, ring, a read-only card, **Join**); a join is told to the owner
(with a button to hand the case over to that station) and to the station that joined; a
hand-off is told to both stations, and the new owner gets the full card with its buttons.
Every row names the case, so that the retention purge forgets them with it."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.services import Services
from searchbot.domain.events import CaseHandedOver, RingCrossedBorder, StationJoined
from searchbot.domain.messages import Out
from searchbot.models import Case
from searchbot.models import queries as q
from searchbot.models.outbox import Kind
from searchbot.telling.audiences import case_of, tell_officers
from searchbot.words.buttons import HandOver, Join, hand_over_row
from searchbot.words.cards import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    case_buttons,
    case_card,
    case_status,
    distance_text,
    fit,
    public_case,
)
from searchbot.words.texts import Raw, ref, say


def _card(services: Services, case: Case, lang: str, head: str, limit: int) -> str:
    return fit(
        lambda description: head + "\n\n" + case_card(case, lang, services.now(), description),
        case.description or "",
        limit,
    )


async def ring_crossed(services: Services, session: AsyncSession, event: RingCrossedBorder) -> None:
    """The neighbour's officers: one notice, the card to read, and Join."""
    case = await case_of(session, event.case_id)
    owner = (await services.officers.owner(session, case)).name
    photo = case.photo_file_ids[0] if case.photo_file_ids else None

    def render(lang: str) -> Out:
        # what a neighbour needs to decide to join; the family's phone stays with the owner
        shown = public_case(case, lang).model_copy(
            update={"contact": say(lang, "contact_with_owner", station=owner)}
        )
        head = say(
            lang, "border_notice", ref=ref(event.case_id), station=owner, stage=event.stage + 1,
            radius=Raw(distance_text(event.radius_m, lang)),
        )  # fmt: skip
        text = _card(services, shown, lang, head, CAPTION_LIMIT if photo else TEXT_LIMIT)
        join = Join(event.case_id, event.station_id).button(say(lang, "btn_join"))
        return Out(text=text, photo=photo, buttons=((join,),))

    await tell_officers(
        services, session, render, kind=Kind.CARD, stations={event.station_id}, case_id=case.id,
        dedupe=f"border:{event.case_id}:{event.station_id}",
    )  # fmt: skip


async def station_joined(services: Services, session: AsyncSession, event: StationJoined) -> None:
    """The owner (with "Hand over to …") and the station that joined."""
    case = await case_of(session, event.case_id)
    directory = await services.officers.directory(session)
    joined = directory.get(event.station_id)
    owner = directory.get(case.station_id)

    def to_owner(lang: str) -> Out:
        text = say(lang, "station_joined", ref=ref(event.case_id), station=joined.name,
                   by=event.by_name)  # fmt: skip
        label = say(lang, "btn_hand_over", station=joined.name)
        return Out(text, buttons=((HandOver(event.case_id, event.station_id).button(label),),))

    def to_joined(lang: str) -> Out:
        return Out(say(lang, "station_joined_you", ref=ref(event.case_id), station=owner.name))

    await tell_officers(
        services, session, to_owner, kind=Kind.NOTICE, stations={case.station_id}, case_id=case.id
    )
    await tell_officers(
        services, session, to_joined, kind=Kind.NOTICE, stations={event.station_id},
        case_id=case.id,
    )  # fmt: skip


async def case_handed_over(
    services: Services, session: AsyncSession, event: CaseHandedOver
) -> None:
    """Both stations: who has the case now. The new owner: the card with its buttons."""
    case = await case_of(session, event.case_id)
    directory = await services.officers.directory(session)
    old, new = directory.get(event.from_station), directory.get(event.to_station)
    counts = await q.case_counts(session, event.case_id)
    photo = case.photo_file_ids[0] if case.photo_file_ids else None

    def told(lang: str) -> Out:
        return Out(
            say(
                lang,
                "handover_notice",
                ref=ref(event.case_id),
                old=old.name,
                new=new.name,
                by=event.by_name,
            )  # fmt: skip
        )

    def card(lang: str) -> Out:
        head = say(lang, "handover_card", ref=ref(event.case_id), old=old.name)
        status = case_status(case, lang, services.settings, *counts)
        limit = CAPTION_LIMIT if photo else TEXT_LIMIT
        text = fit(
            lambda d: head + "\n\n" + case_card(case, lang, services.now(), d) + "\n" + status,
            case.description or "",
            limit,
        )
        verified = case.verified_at is not None
        buttons = case_buttons(event.case_id, lang, verified, services.settings)
        buttons += hand_over_row(event.case_id, say(lang, "btn_hand_over_ask"), True)
        return Out(text=text, photo=photo, buttons=buttons)

    await tell_officers(
        services, session, told, kind=Kind.NOTICE, stations={event.from_station}, case_id=case.id
    )
    await tell_officers(
        services, session, card, kind=Kind.CARD, stations={event.to_station}, case_id=case.id
    )
