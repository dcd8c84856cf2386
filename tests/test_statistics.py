"""Officers' figures over a hand-built set of cases, every number worked out by hand, and the
PNG chart."""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime, timedelta

import pytest

from searchbot.models import Alert, Case, Group, Sighting
from searchbot.models.db import Sessions
from searchbot.operations import statistics
from searchbot.operations.statistics import Figures, chart_png, compute, nearest_rank

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)

# (outcome or None for open, minutes to close, day reported, sightings)
CASES = [
    ("found", 10, 0, 3),  # c1
    ("found", 20, 0, 0),  # c2
    ("false_alarm", 5, 0, 0),  # c3
    (None, None, 0, 2),  # c4
    ("found", 25, 2, 0),  # c5
    ("found", 40, 2, 0),  # c6
    ("found", 90, 2, 0),  # c7
    ("false_alarm", 15, 2, 1),  # c8
    ("withdrawn", 60, 2, 1),  # c9
    (None, None, 2, 0),  # c10
]
# (role, status) of groups g1..g10
GROUPS = [
    ("merchant", "approved"),  # g1
    ("merchant", "approved"),  # g2
    ("merchant", "approved"),  # g3
    ("guard", "approved"),  # g4
    ("guard", "approved"),  # g5
    ("volunteer", "approved"),  # g6
    ("merchant", "pending"),  # g7
    ("volunteer", "locating"),  # g8
    ("guard", "rejected"),  # g9
    ("merchant", "inactive"),  # g10
]
# (case number, group number, checked)
ALERTS = [(1, 1, True), (1, 2, False), (1, 3, False), (5, 1, True), (5, 4, True), (10, 5, False)]


async def seed(sessions: Sessions) -> None:
    async with sessions() as session:
        cases = [_case(*spec[:3]) for spec in CASES]
        groups = [_group(number, role, status) for number, (role, status) in enumerate(GROUPS)]
        session.add_all([*cases, *groups])
        await session.flush()
        for case, (*_, sightings) in zip(cases, CASES, strict=True):
            session.add_all(_sighting(case) for _ in range(sightings))
        for case_number, group_number, checked in ALERTS:
            case, group = cases[case_number - 1], groups[group_number - 1]
            assert case.id is not None and group.id is not None
            at = case.created_at + timedelta(minutes=1)
            session.add(
                Alert(
                    case_id=case.id,
                    group_id=group.id,
                    stage=0,
                    distance_m=100.0,
                    created_at=at,
                    checked_at=at + timedelta(minutes=2) if checked else None,
                    checked_by=42 if checked else None,
                )
            )
        await session.commit()


def _case(outcome: str | None, minutes: int | None, day: int) -> Case:
    created = T0 + day * DAY
    closed = created + timedelta(minutes=minutes) if minutes is not None else None
    return Case(
        status="open" if outcome is None else "closed",
        outcome=outcome,
        reporter_user_id=7,
        reporter_chat_id=7,
        lat=31.23,
        lon=121.47,
        center_lat=31.23,
        center_lon=121.47,
        last_seen_at=created,
        created_at=created,
        closed_at=closed,
    )


def _group(number: int, role: str, status: str) -> Group:
    return Group(
        chat_id=-1000 - number, title=f"g{number + 1}", role=role, status=status,
        registered_by=9, created_at=T0, lat=31.23, lon=121.47,
    )  # fmt: skip


def _sighting(case: Case) -> Sighting:
    assert case.id is not None
    return Sighting(
        case_id=case.id,
        reporter_user_id=11,
        source="reply",
        seen_at=case.created_at,
        created_at=case.created_at + timedelta(minutes=3),
    )


async def figures_of(sessions: Sessions, since: datetime | None = None) -> Figures:
    async with sessions() as session:
        return await compute(session, since)


async def test_all_figures_over_every_case(sessions: Sessions) -> None:
    await seed(sessions)
    figures = await figures_of(sessions)

    assert figures.cases_by_outcome == {"open": 2, "found": 5, "false_alarm": 2, "withdrawn": 1}
    assert figures.total_cases == 10
    assert figures.found_minutes == (10.0, 20.0, 25.0, 40.0, 90.0)
    # nearest rank over 5 values: median rank ceil(2.5) = 3 -> 25; p90 rank ceil(4.5) = 5 -> 90
    assert figures.found_median_minutes == 25.0
    assert figures.found_p90_minutes == 90.0
    assert figures.found_within_30_share == 3 / 5  # 10, 20 and 25 minutes
    assert figures.sightings_per_case == 7 / 10  # 3 + 2 + 1 + 1 over ten cases
    assert figures.approved_groups_by_role == {"merchant": 3, "guard": 2, "volunteer": 1}
    assert figures.groups_by_status == {
        "locating": 1,
        "pending": 1,
        "approved": 6,
        "rejected": 1,
        "inactive": 1,
    }
    # g1 (twice), g2, g3, g4, g5 alerted; g1 (twice) and g4 pressed "checked"
    assert (figures.groups_alerted, figures.groups_answered) == (5, 2)


async def test_since_keeps_only_the_later_cases(sessions: Sessions) -> None:
    await seed(sessions)
    figures = await figures_of(sessions, since=T0 + DAY)

    # c5..c10 only
    assert figures.cases_by_outcome == {"open": 1, "found": 3, "false_alarm": 1, "withdrawn": 1}
    assert figures.found_minutes == (25.0, 40.0, 90.0)
    assert figures.found_median_minutes == 40.0  # rank ceil(1.5) = 2
    assert figures.found_p90_minutes == 90.0  # rank ceil(2.7) = 3
    assert figures.found_within_30_share == 1 / 3
    assert figures.sightings_per_case == 2 / 6  # c8 and c9
    assert (figures.groups_alerted, figures.groups_answered) == (3, 2)  # g1, g4 / g5
    # groups are counted as they are now, whatever the window
    assert figures.approved_groups_by_role == {"merchant": 3, "guard": 2, "volunteer": 1}


async def test_an_empty_database_has_zeros_and_no_averages(sessions: Sessions) -> None:
    figures = await figures_of(sessions)

    assert figures.cases_by_outcome == {"open": 0, "found": 0, "false_alarm": 0, "withdrawn": 0}
    assert figures.found_minutes == ()
    assert figures.found_median_minutes is None
    assert figures.found_p90_minutes is None
    assert figures.found_within_30_share is None
    assert figures.sightings_per_case is None
    assert (figures.groups_alerted, figures.groups_answered) == (0, 0)
    assert png_size(chart_png(figures)) == (800, 500)


def test_nearest_rank_percentiles() -> None:
    values = [40.0, 10.0, 30.0, 20.0]
    assert nearest_rank(values, 50) == 20.0  # rank 2: the lower middle, not 25
    assert nearest_rank(values, 90) == 40.0  # rank ceil(3.6) = 4
    assert nearest_rank(values, 75) == 30.0  # rank 3
    assert nearest_rank(values, 1) == 10.0  # rank ceil(0.04) = 1
    assert nearest_rank(values, 100) == 40.0
    assert nearest_rank([], 50) is None
    with pytest.raises(ValueError):
        nearest_rank(values, 0)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, after checking the PNG signature."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_chart_is_an_800_by_500_png_with_the_bars_drawn(sessions: Sessions) -> None:
    await seed(sessions)
    figures = await figures_of(sessions)
    data = chart_png(figures)

    assert png_size(data) == (800, 500)
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(data), format="png")
    assert pixels.shape[:2] == (500, 800)
    found_green = (pixels[..., 0] * 255).round() == 0x5C
    found_green &= (pixels[..., 1] * 255).round() == 0xB8
    found_green &= (pixels[..., 2] * 255).round() == 0x5C
    assert found_green.sum() > 1000  # the "found" bar and the histogram are there
    empty = chart_png(await figures_of(sessions, since=T0 + 30 * DAY))
    assert png_size(empty) == (800, 500) and empty != data


async def test_chart_takes_translated_labels_even_without_a_chinese_font(
    sessions: Sessions,
) -> None:
    await seed(sessions)
    figures = await figures_of(sessions)
    labels = {
        "outcomes_title": "案件结果",
        "found_title": "找到所用时间",
        "open": "进行中",
        "found": "已找到",
        "false_alarm": "误报",
        "withdrawn": "撤回",
        "cases": "案件",
        "minutes": "分钟",
    }

    chinese = chart_png(figures, labels, language="zh")
    assert png_size(chinese) == (800, 500)
    assert chinese != chart_png(figures)


async def test_an_installed_chinese_font_is_put_first_for_zh(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(sessions)
    figures = await figures_of(sessions)
    default = chart_png(figures, language="zh")
    # stand in for a Chinese font with one that is surely installed and looks different
    monkeypatch.setattr(statistics, "_installed_cjk_fonts", lambda: ["DejaVu Serif"])

    assert chart_png(figures, language="zh") != default
    assert chart_png(figures, language="en") == chart_png(figures)


async def test_a_case_found_at_exactly_30_minutes_counts_as_within_30(sessions: Sessions) -> None:
    async with sessions() as session:
        session.add_all([_case("found", 30, 0), _case("found", 31, 0)])
        await session.commit()
    figures = await figures_of(sessions)

    assert figures.found_minutes == (30.0, 31.0)
    assert figures.found_within_30_share == 1 / 2
