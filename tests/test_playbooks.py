"""Playbooks by role and exits, end to end over HTTP against the fake Bot API: each role's job
in each language, volunteers sharing out blind-spot cells, guards' Exit watched counted on the
officers' card, and the ten-minute warning naming unwatched exits (injected clock). Issue 14,
part 2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from fakegram import FakeBotApi, FakeChat
from searchbot import cli
from searchbot.cases import exits
from searchbot.cases.places import import_landmarks
from searchbot.cases.playbooks import import_playbooks, read_playbooks
from searchbot.domain.grid import cells_of
from searchbot.models import Group, VolunteerCell
from tests.world import CENTRE, World, offset

JOBS = {
    ("guard", "en"): ["Your job:", "watch East Gate", "cameras"],
    ("guard", "zh"): ["您的任务", "East Gate", "监控"],
    ("merchant", "en"): ["Your job:", "fitting rooms, toilets, back rooms and under counters"],
    ("merchant", "zh"): ["您的任务", "试衣间、卫生间、后仓和柜台下面"],
    ("volunteer", "en"): ["Your job:", "walk these blocks", "1) "],
    ("volunteer", "zh"): ["您的任务", "走访", "1) "],
}


async def add_groups(
    world: World, fake: FakeBotApi, specs: list[tuple[int, str, str, tuple[float, float]]]
) -> dict[int, FakeChat]:
    """Approved groups (chat id, role, language, point) written straight to the database."""
    chats, rows = {}, []
    for chat_id, role, lang, (lat, lon) in specs:
        chats[chat_id] = fake.group(chat_id=chat_id, title=f"{role} {chat_id}", admins=[])
        fine, coarse = cells_of(lat, lon)
        rows.append(Group(chat_id=chat_id, title=f"{role} {chat_id}", role=role, status="approved",
                          lat=lat, lon=lon, cell_fine=fine, cell_coarse=coarse, language=lang,
                          registered_by=0, created_at=datetime.now(UTC)))  # fmt: skip
    async with world.services.sessions() as session:
        session.add_all(rows)
        await session.commit()
    return chats


async def add_landmarks(world: World, tmp_path: Path) -> None:
    places = [
        ("East Gate", "exit", offset(CENTRE, 0, 150)),
        ("West Gate", "exit", offset(CENTRE, 0, -200)),
        ("Metro Exit 2", "metro", offset(CENTRE, 250, 0)),
        ("Far Car Park", "parking", offset(CENTRE, 0, 2000)),
        ("Fountain", "water", offset(CENTRE, -80, 0)),
        ("Old Tea House", "", offset(CENTRE, 30, 30)),
    ]
    lines = ["name,aliases,lat,lon,kind"] + [f"{n},,{p[0]},{p[1]},{k}" for n, k, p in places]
    path = tmp_path / "landmarks.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert await import_landmarks(world.services.sessions, path) == len(places)


def alert_in(fake: FakeBotApi, chat_id: int):  # type: ignore[no-untyped-def]
    return next(m for m in fake.messages(chat_id) if m.photo_file_id)


@pytest.mark.parametrize(("role", "lang"), sorted(JOBS))
async def test_each_role_gets_its_job_in_its_language(
    world: World, fake: FakeBotApi, tmp_path: Path, role: str, lang: str
) -> None:
    await add_landmarks(world, tmp_path)
    await world.officer()
    await add_groups(world, fake, [(-301, role, lang, offset(CENTRE, 0, 100))])
    await world.report(fake.user(5001, first_name="Mother", language_code="en"))
    alert = alert_in(fake, -301)
    for words in JOBS[(role, lang)]:
        assert words in alert.caption, alert.caption
    exit_buttons = [t for t in alert.button_texts if "🚪" in t]
    if role == "guard":  # the three nearest ways out, the far car park not among them
        assert len(exit_buttons) == 3 and not any("Far Car Park" in t for t in exit_buttons)
        assert "East Gate" in exit_buttons[0]
    else:
        assert exit_buttons == []
    assert any("Found a child" in t or "发现孩子" in t for t in alert.button_texts)
    assert fake.violations == []


async def test_two_volunteer_groups_start_in_different_cells(
    world: World, fake: FakeBotApi
) -> None:
    await world.officer()
    await add_groups(world, fake, [
        (-311, "volunteer", "en", offset(CENTRE, 100, 0)),
        (-312, "volunteer", "en", offset(CENTRE, 110, 10)),
    ])  # fmt: skip
    case_id = await world.report(fake.user(5001, first_name="Mother", language_code="en"))
    firsts = [alert_in(fake, chat).caption.split("1) ")[1].split(";")[0] for chat in (-311, -312)]
    assert firsts[0] != firsts[1]
    async with world.services.sessions() as session:
        rows = (await session.exec(select(VolunteerCell).where(
            VolunteerCell.case_id == case_id, col(VolunteerCell.first).is_(True)))).all()  # fmt: skip
    assert len(rows) == 2 and rows[0].cell != rows[1].cell


async def test_exit_watched_is_counted_and_the_warning_names_the_rest(
    world: World, fake: FakeBotApi, tmp_path: Path
) -> None:
    await add_landmarks(world, tmp_path)
    officer = await world.officer()
    chats = await add_groups(world, fake, [(-321, "guard", "en", offset(CENTRE, -50, 0))])
    case_id = await world.report(fake.user(5001, first_name="Mother", language_code="en"))
    card = next(m for m in fake.messages(officer.user_id) if "New case" in m.body)
    assert "0 of 3 watched" in card.body and "Fountain (80 m)" in card.body

    guard = fake.user(7501, first_name="Guard", language_code="en")
    fake.add_member(chats[-321], guard)
    alert = alert_in(fake, -321)
    pressed = fake.click(guard, alert, "Exit watched: East Gate")
    await fake.wait_for(lambda: pressed in fake.callback_answers)
    again = fake.click(guard, alert, "Exit watched: East Gate")  # a second press counts once
    await fake.wait_for(lambda: again in fake.callback_answers)
    status = await world.says(officer, f"/case {case_id}")
    assert "1 of 3 watched (East Gate); not watched: West Gate, Metro Exit 2" in status.body
    assert "Water near the last-seen place" in status.body

    await world.later(timedelta(minutes=11))
    warning = next(
        m for m in fake.messages(officer.user_id) if "minutes since the report" in m.body
    )
    assert "West Gate, Metro Exit 2" in warning.body and "East Gate" not in warning.body
    assert f"#{case_id}: 10 minutes" in warning.body
    assert await exits.tick(world.services) == 0  # claimed once: never again
    await world.later(timedelta(minutes=11))
    warnings = [m for m in fake.messages(officer.user_id) if "minutes since the report" in m.body]
    assert len(warnings) == 1
    assert fake.violations == []


async def test_a_station_words_a_job_itself(world: World, fake: FakeBotApi, tmp_path: Path) -> None:
    await add_landmarks(world, tmp_path)
    path = tmp_path / "playbooks.csv"
    path.write_text("role,language,text\nguard,en,Stand at {exits} & stop every lone child\n"
                    "merchant,zh,查看仓库\n", encoding="utf-8")  # fmt: skip
    assert await import_playbooks(world.services.sessions, path) == 2
    await world.officer()
    await add_groups(world, fake, [(-331, "guard", "en", offset(CENTRE, 0, 100)),
                                   (-332, "merchant", "en", offset(CENTRE, 0, -100))])  # fmt: skip
    await world.report(fake.user(5001, first_name="Mother", language_code="en"))
    assert "Stand at East Gate, " in alert_in(fake, -331).caption
    assert "&" in alert_in(fake, -331).caption  # the station's text is escaped, not markup
    assert "fitting rooms" in alert_in(fake, -332).caption  # no English merchant text: default


def test_bad_playbook_files_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    for body, error in [
        ("chef,en,cook\n", "role 'chef'"),
        ("guard,fr,watch\n", "language 'fr'"),
        ("merchant,en,check {exits}\n", "may name none"),
        ("guard,en,watch {exits\n", "unbalanced"),
        ("volunteer,en," + "x" * 301 + "\n", "1-300 characters"),
    ]:
        path.write_text("role,language,text\n" + body, encoding="utf-8")
        with pytest.raises(ValueError, match=error) as raised:
            read_playbooks(path)
        assert ":2:" in str(raised.value)


def test_the_playbooks_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    path = tmp_path / "p.csv"
    path.write_text("role,language,text\nvolunteer,en,Walk {cells}\n", encoding="utf-8")
    assert cli.main(["playbooks", "import", str(path)]) == 0
    assert "imported 1 playbooks" in capsys.readouterr().out
    path.write_text("role,language,text\nvolunteer,en,Walk {exits}\n", encoding="utf-8")
    assert cli.main(["playbooks", "import", str(path)]) == 1
    assert "p.csv:2" in capsys.readouterr().err


async def test_a_landmark_kind_must_be_known(world: World, tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text("name,aliases,lat,lon,kind\nGate,,31.2,121.4,door\n", encoding="utf-8")
    with pytest.raises(ValueError, match="kind 'door'"):
        await import_landmarks(world.services.sessions, path)
    path.write_text("name,aliases,lat,lon\nGate,,31.2,121.4\n", encoding="utf-8")  # old files
    assert await import_landmarks(world.services.sessions, path) == 1
