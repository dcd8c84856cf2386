"""Playbooks: every alerted group gets the one job of its role, as in a "Code Adam" drill.

Guards watch the named exits nearest to them (with an **Exit watched** button each) and check
the cameras; merchants check fitting rooms, toilets, back rooms and under counters; volunteers
walk the blind-spot cells named in the alert, the nearest ones to them, shared out so that two
volunteer groups never start in the same cell. The wording is the catalogs' by default; a
station may word each role's job in each language itself (``searchbot playbooks import``).

Playbook file (CSV, UTF-8, with a header):  ``role,language,text``
  role: merchant | guard | volunteer; language: zh | en; text: plain text, at most 300
  characters; a guard's text may name ``{exits}``, a volunteer's ``{cells}``.
"""

from __future__ import annotations

import csv
import html
import math
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases import coverage, exits
from searchbot.cases.places import NEAR_M
from searchbot.cases.services import Services
from searchbot.domain.grid import GroupPoint, bounding_box, distance_m
from searchbot.domain.messages import Button
from searchbot.models import Case, GroupRole, Landmark, Playbook, VolunteerCell
from searchbot.models.db import Sessions
from searchbot.settings import LANGUAGES
from searchbot.words.buttons import WatchExit
from searchbot.words.cards import clip
from searchbot.words.texts import Raw, plain, say

ROLES = tuple(GroupRole)
PLACEHOLDERS = {
    GroupRole.MERCHANT: set(),
    GroupRole.GUARD: {"exits"},
    GroupRole.VOLUNTEER: {"cells"},
}
TEXT_MAX = 300
CELLS_PER_GROUP = 3
LABEL_MAX = 60


@dataclass(frozen=True)
class Job:
    """A group's part of the alert: the text under the caption and its extra buttons."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()


async def jobs(
    services: Services,
    session: AsyncSession,
    case: Case,
    targets: Sequence[tuple[float, GroupPoint]],
    radius_m: float,
) -> dict[int, Job]:
    """Each target group's job (keyed by group id); ``targets`` nearest to the case first, so
    the nearest volunteer group chooses its first cell first."""
    own = await _station_texts(session)
    result: dict[int, Job] = {}
    guards = [g for _, g in targets if g.role == GroupRole.GUARD]
    volunteers = [g for _, g in targets if g.role == GroupRole.VOLUNTEER]
    doors = await exits.ways_out(session) if guards else []
    for group in guards:
        near = exits.nearest(
            doors, (group.lat, group.lon), exits.PER_GUARD_GROUP, exits.GUARD_REACH_M
        )
        names = ", ".join(html.escape(clip(lm.name, LABEL_MAX)) for _, lm in near)
        buttons = tuple(
            (WatchExit(case.id or 0, lm.id or 0).button(
                plain(group.language, "btn_exit_watched", exit=clip(lm.name, 40))),)
            for _, lm in near
        )  # fmt: skip
        result[group.id] = Job(_text(own, GroupRole.GUARD, group.language, names), buttons)
    if volunteers:
        cells = await _share_cells(services, session, case, volunteers, radius_m)
        for group in volunteers:
            result[group.id] = Job(
                _text(own, GroupRole.VOLUNTEER, group.language, cells.get(group.id, ""))
            )
    for _, group in targets:
        if group.role not in (GroupRole.GUARD, GroupRole.VOLUNTEER):
            result[group.id] = Job(_text(own, GroupRole.MERCHANT, group.language, ""))
    return result


def _text(own: dict[tuple[str, str], str], role: GroupRole, lang: str, named: str) -> str:
    """The job in ``lang``: the station's wording if it has one, else the catalog's; ``named``
    (HTML) is the exits or cells, empty when there are none (then a general phrase)."""
    filler = {GroupRole.GUARD: "playbook_no_exits", GroupRole.VOLUNTEER: "playbook_no_cells"}.get(
        role
    )
    value = Raw(named) if named or filler is None else Raw(say(lang, filler))
    station = own.get((role, lang))
    if station is not None:
        return html.escape(station, quote=False).format(exits=value, cells=value)
    return say(lang, f"playbook_{role}", exits=value, cells=value)


async def _station_texts(session: AsyncSession) -> dict[tuple[str, str], str]:
    rows = (await session.exec(select(Playbook))).all()
    return {(row.role, row.language): row.text for row in rows}


async def _share_cells(
    services: Services,
    session: AsyncSession,
    case: Case,
    volunteers: list[GroupPoint],
    radius_m: float,
) -> dict[int, str]:
    """Blind-spot cells for each volunteer group, nearest to it first; a cell that is some
    group's first is nobody else's first. Stored, so later rings keep sharing them out."""
    centre = (case.center_lat, case.center_lon)
    spots = await coverage.blind_spots(session, centre, radius_m)
    if not spots:
        return {}
    south, north, west, east = bounding_box(*centre, radius_m + NEAR_M)
    landmarks = (
        await session.exec(
            select(Landmark).where(
                col(Landmark.lat).between(south, north), col(Landmark.lon).between(west, east)
            )
        )
    ).all()
    taken_query = select(VolunteerCell.cell).where(
        VolunteerCell.case_id == case.id, col(VolunteerCell.first).is_(True)
    )
    taken = set((await session.exec(taken_query)).all())
    named: dict[int, str] = {}
    for group in volunteers:
        point = (group.lat, group.lon)
        ranked = sorted(spots, key=lambda s: (distance_m(point, (s.lat, s.lon)), s.cell))
        free = [s for s in ranked if s.cell not in taken] or ranked
        first = free[0]
        mine = [first, *[s for s in ranked if s.cell != first.cell][: CELLS_PER_GROUP - 1]]
        taken.add(first.cell)
        for index, spot in enumerate(mine):
            session.add(VolunteerCell(case_id=case.id or 0, group_id=group.id, cell=spot.cell,
                                      first=index == 0))  # fmt: skip
        labels = [cell_label(s.lat, s.lon, landmarks, group.language) for s in mine]
        named[group.id] = "; ".join(f"{n}) {label}" for n, label in enumerate(labels, start=1))
    return named


DIRECTIONS = ("n", "ne", "e", "se", "s", "sw", "w", "nw")


def cell_label(lat: float, lon: float, landmarks: Sequence[Landmark], lang: str) -> str:
    """A cell as a walker finds it: "70 m NE of Lotus Pond" (the nearest landmark within
    300 m), linked to a map of the spot; coordinates when no landmark is near."""
    near = sorted((distance_m((lm.lat, lm.lon), (lat, lon)), lm.name, lm) for lm in landmarks)
    if near and near[0][0] <= NEAR_M:
        metres, _, landmark = near[0]
        east = (lon - landmark.lon) * math.cos(math.radians(lat))
        bearing = math.degrees(math.atan2(east, lat - landmark.lat)) % 360
        direction = say(lang, f"dir_{DIRECTIONS[int((bearing + 22.5) // 45) % 8]}")
        text = say(lang, "cell_near", metres=int(round(metres, -1)), direction=direction,
                   landmark=landmark.name[:LABEL_MAX])  # fmt: skip
    else:
        text = f"{lat:.5f}, {lon:.5f}"
    link = f"https://www.openstreetmap.org/?mlat={lat:.5f}&amp;mlon={lon:.5f}#map=19/{lat:.5f}/{lon:.5f}"
    return f'<a href="{link}">{text}</a>'


# --- the station's own wording ---------------------------------------------------------------


def read_playbooks(path: Path) -> list[Playbook]:
    """The rows of a playbook file, checked; ValueError names the line and what is wrong."""
    rows: list[Playbook] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for number, record in enumerate(csv.DictReader(handle), start=2):
            try:
                rows.append(_row(record))
            except (KeyError, ValueError, AttributeError) as error:
                raise ValueError(f"{path}:{number}: {error}") from None
    return rows


def _row(record: dict[str, str]) -> Playbook:
    role: str = record["role"].strip().lower()
    language = record["language"].strip().lower()
    text = " ".join(record["text"].split())
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    role = GroupRole(role)
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not one of {', '.join(LANGUAGES)}")
    if not text or len(text) > TEXT_MAX:
        raise ValueError(f"text must be 1-{TEXT_MAX} characters")
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        raise ValueError("unbalanced { or } in the text") from None
    if not fields <= PLACEHOLDERS[role]:
        allowed = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS[role]) or "none"
        raise ValueError(f"a {role}'s text may name {allowed}, not {fields}")
    return Playbook(role=role, language=language, text=text)


async def import_playbooks(sessions: Sessions, path: Path) -> int:
    """Load a playbook file, replacing the station's wording for the roles and languages in it."""
    rows = read_playbooks(path)
    async with sessions() as session:
        for row in rows:
            await session.exec(  # type: ignore[call-overload]
                delete(Playbook).where(
                    col(Playbook.role) == row.role, col(Playbook.language) == row.language
                )
            )
        await session.flush()
        session.add_all(rows)
        await session.commit()
    return len(rows)
