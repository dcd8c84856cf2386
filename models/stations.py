"""The stations of a district: their areas, officers' groups, administrators and officers, and
which stations a case's rings reached (and which of those joined the search).

A case or group with no ``station_id`` belongs to the default station, the one the settings
make (``SEARCHBOT_OFFICER_CHAT_ID``, ``SEARCHBOT_SERVICE_AREA``): with no station imported, the
deployment is that one station, as before stations existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, Text
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession


class Station(SQLModel, table=True):
    """A police station: its area (GeoJSON Polygon or MultiPolygon, lon/lat), its officers'
    group, its administrators (who are its officers), its language and time zone."""

    __tablename__ = "stations"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128, unique=True)
    officer_chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    admin_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    language: str | None = Field(default=None, max_length=8)
    timezone: str | None = Field(default=None, max_length=64)
    geometry: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime


class StationOfficer(SQLModel, table=True):
    """An officer a station's administrator appointed (one person may serve several)."""

    __tablename__ = "station_officers"

    station_id: int = Field(foreign_key="stations.id", primary_key=True)
    user_id: int = Field(
        sa_column=Column(BigInteger, primary_key=True, autoincrement=False, index=True)
    )
    added_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    added_at: datetime


class CaseStation(SQLModel, table=True):
    """A station a case's ring reached into (not the owner): told once, at ``notified_at``,
    of ring ``stage``; ``joined_at`` once its officers pressed Join."""

    __tablename__ = "case_stations"

    case_id: int = Field(foreign_key="cases.id", primary_key=True)
    station_id: int = Field(foreign_key="stations.id", primary_key=True, index=True)
    stage: int
    notified_at: datetime
    joined_at: datetime | None = None
    joined_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


async def all_stations(session: AsyncSession) -> Sequence[Station]:
    return (await session.exec(select(Station).order_by(col(Station.id)))).all()


async def station_named(session: AsyncSession, name: str) -> Station | None:
    return (await session.exec(select(Station).where(Station.name == name))).first()


async def officers_of(session: AsyncSession, station_id: int) -> list[int]:
    query = select(StationOfficer.user_id).where(StationOfficer.station_id == station_id)
    return list((await session.exec(query)).all())


async def station_officer_ids(session: AsyncSession) -> list[int]:
    query = select(StationOfficer.user_id).distinct()
    return list((await session.exec(query)).all())


async def stations_of_officer(session: AsyncSession, user_id: int) -> list[int]:
    query = select(StationOfficer.station_id).where(StationOfficer.user_id == user_id)
    return list((await session.exec(query)).all())


async def reached(session: AsyncSession, case_id: int) -> Sequence[CaseStation]:
    query = select(CaseStation).where(CaseStation.case_id == case_id)
    return (await session.exec(query)).all()


async def joined_case_ids(session: AsyncSession, station_id: int) -> list[int]:
    query = select(CaseStation.case_id).where(
        CaseStation.station_id == station_id, col(CaseStation.joined_at).is_not(None)
    )
    return list((await session.exec(query)).all())
