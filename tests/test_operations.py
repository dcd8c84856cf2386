"""Ready for a station: menus per role and language, webhook mode, health and metrics, Chinese."""

from __future__ import annotations

import json
import socket

import httpx

from fakegram import FakeBotApi
from searchbot.models import Officer
from tests.world import ADMIN_ID, CENTRE, OFFICER_ID, World, offset, world_settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_command_menus_per_scope_and_language(world: World, fake: FakeBotApi) -> None:
    def menu(scope: dict[str, object], lang: str) -> dict[str, str]:
        params = fake.commands[(json.dumps(scope, sort_keys=True), lang)]
        return {c["command"]: c["description"] for c in params["commands"]}

    private = {"type": "all_private_chats"}
    assert menu(private, "zh")["report"] == "报告走失"
    assert menu(private, "en")["report"] == "Report a missing person"
    assert "close" not in menu(private, "en")  # strangers do not see officers' commands
    assert set(menu({"type": "all_group_chats"}, "en")) == {
        "register",
        "status",
        "found",
        "unregister",
        "help",
    }
    assert menu(private, "") == menu(private, "en")  # the default is the station's language


async def test_an_officers_menu_follows_their_appointment(world: World, fake: FakeBotApi) -> None:
    def menu(chat_id: int, lang: str) -> set[str]:
        scope = json.dumps({"type": "chat", "chat_id": chat_id}, sort_keys=True)
        return {c["command"] for c in fake.commands.get((scope, lang), {}).get("commands", [])}

    await world.officer()
    await world.settle()
    for chat_id in (ADMIN_ID, OFFICER_ID):
        for lang in ("", "zh", "en"):
            assert {"close", "verify", "report"} <= menu(chat_id, lang)

    admin = fake.user(ADMIN_ID, first_name="Admin", language_code="en")
    await world.says(admin, f"/officer remove {OFFICER_ID}")
    await world.settle()
    assert all(menu(OFFICER_ID, lang) == set() for lang in ("", "zh", "en"))

    # appointed before ever opening the bot's chat: the menu comes with their first /start
    await world.says(admin, "/officer add 9100")
    await world.settle()
    assert menu(9100, "en") == set()
    await world.says(fake.user(9100, first_name="Officer Wang", language_code="zh"), "/start")
    await world.settle()
    assert "close" in menu(9100, "zh")
    assert not fake.violations


SECRET = "Xr7_k2-PqL9vT4wZ8mN3bY6cH1dF5gJ0sA"  # 34 characters of Telegram's set


def forged_update(update_id: int, user_id: int, text: str) -> dict[str, object]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "chat": {"id": user_id, "type": "private"},
        "from": {"id": user_id, "is_bot": False, "first_name": "X"}, "text": text}}  # fmt: skip


async def test_webhook_mode_answers_and_refuses_a_wrong_secret(
    fake: FakeBotApi, database_url: str
) -> None:
    """Updates come through the webhook with the secret; a post without it, or with any
    other (a shorter or longer one, one differing in the last character), is refused with 403,
    counted in /metrics and not handled: a forged "admin" appointing an officer does nothing."""
    port, metrics_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    settings = world_settings(
        fake, database_url, SEARCHBOT_WEBHOOK_URL=url, SEARCHBOT_WEBHOOK_SECRET=SECRET,
        SEARCHBOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        SEARCHBOT_METRICS_LISTEN=f"127.0.0.1:{metrics_port}",
    )  # fmt: skip
    async with World(fake, settings) as world, httpx.AsyncClient() as client:
        assert fake.webhook_url == url
        family = fake.user(5001, first_name="Mother", language_code="en")
        answer = await world.says(family, "/start")  # pushed by the fake to the webhook
        assert "This is <b>searchbot</b>" in answer.html or "This is searchbot" in answer.body
        assert 200 in fake.webhook_answers
        assert not fake.calls_to("getUpdates")

        wrong = ["wrong", SECRET[:-1], SECRET + "x", SECRET[:-1] + "Z", SECRET.lower(), ""]
        forged = forged_update(999, ADMIN_ID, "/officer add 6001")
        for guess in wrong:
            refused = await client.post(
                url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": guess}
            )
            assert refused.status_code == 403, guess
        missing = await client.post(url, json=forged_update(998, 6001, "/start"))
        assert missing.status_code == 403
        await world.settle()
        assert fake.messages(6001) == [] and fake.messages(ADMIN_ID) == []
        async with world.services.sessions() as session:
            assert await session.get(Officer, 6001) is None  # the forged admin changed nothing
        scraped = (await client.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
        assert 'searchbot_webhook_refused_total{reason="wrong"} 5.0' in scraped
        assert 'searchbot_webhook_refused_total{reason="missing"} 2.0' in scraped  # "" too

        # the right secret: a post is handled (by someone the fake Telegram knows)
        fake.user(6001, first_name="X", language_code="en")
        accepted = await client.post(
            url, json=forged_update(1000, 6001, "/start"),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )  # fmt: skip
        assert accepted.status_code == 200
        await world.settle()
        assert fake.messages(6001), "a genuine update is answered"
        garbage = await client.post(
            url, content=b"not json", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        assert garbage.status_code == 400
    assert fake.violations == []


async def test_health_and_metrics_follow_a_fanout(fake: FakeBotApi, database_url: str) -> None:
    port = free_port()
    settings = world_settings(
        fake, database_url, SEARCHBOT_METRICS_LISTEN=f"127.0.0.1:{port}",
        SEARCHBOT_GLOBAL_PER_SECOND=6, SEARCHBOT_ESCALATION="0:2000,1h:3000",
    )  # fmt: skip
    async with World(fake, settings) as world, httpx.AsyncClient() as client:
        base = f"http://127.0.0.1:{port}"
        health = await client.get(f"{base}/healthz")
        assert health.status_code == 200 and health.text == "ok leader\n"
        await world.seed_groups([offset(CENTRE, 100 + 20 * i) for i in range(24)])
        family = fake.user(5001, first_name="Mother", language_code="en")
        summary = await world.draft_report(family)
        fake.click(family, summary, "Confirm")
        await fake.wait_for(
            lambda: len([c for c in fake.calls if c.method == "sendPhoto" and c.ok]) >= 4
        )

        def alerts_waiting(body: str) -> float:
            line = next(
                x
                for x in body.splitlines()
                if x.startswith('searchbot_outbox_depth{lane="alerts"}')
            )
            return float(line.split()[-1])

        during = (await client.get(f"{base}/metrics")).text
        assert alerts_waiting(during) > 0
        assert "searchbot_open_cases 1.0" in during
        assert "searchbot_send_rate 6.0" in during  # the configured rate: no 429 lowered it
        assert "searchbot_overall_limit_pauses_total 0.0" in during
        await world.settle(timeout=30)
        after = (await client.get(f"{base}/metrics")).text
        assert alerts_waiting(after) == 0
        assert 'searchbot_sends_total{kind="alert",result="ok"} 24.0' in after


async def test_a_chinese_speaker_reports_in_chinese(world: World, fake: FakeBotApi) -> None:
    mother = fake.user(5009, first_name="妈妈", language_code="zh-hans")
    answer = await world.says(mother, "/report")
    assert "请发送走失者的近照" in answer.body
    saved = await world.says(mother, photo=True)
    name_ask = await world.taps(mother, saved, "下一步")
    assert name_ask is not None and "叫什么名字" in name_ask.body
    age_ask = await world.says(mother, "小明")
    assert "多大年龄" in age_ask.body
    sex = await world.says(mother, "6")
    assert sex.body == "性别？"
    description = await world.taps(mother, sex, "男")
    assert description is not None and "外貌特征" in description.body
    place = await world.says(mother, "红色T恤，蓝色短裤")
    assert "最后在哪里看到" in place.body
    when = await world.says(mother, location=CENTRE)
    contact = await world.taps(mother, when, "刚刚")
    assert contact is not None and "电话" in contact.body
    summary = await world.says(mother, "/skip")
    assert "请核对" in summary.body and "6岁" in summary.body
    opened = await world.taps(mother, summary, "确认发布")
    assert opened is not None and "案件" in opened.body and "已建立" in opened.body
    assert fake.violations == []


async def test_stats_and_export_reach_the_officer_as_files(world: World, fake: FakeBotApi) -> None:
    officer = await world.officer()
    await world.seed_groups([offset(CENTRE, 100)])
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    await world.says(officer, f"/close {case_id} found")
    await world.settle()

    before = fake.upload_count
    await world.says(officer, "/stats")
    await world.settle()
    texts = [m.body for m in fake.messages(officer.user_id) if "Last 30 days" in m.body]
    assert texts and "1 found" in texts[-1] and "0 open" in texts[-1]
    assert fake.upload_count == before + 1  # the chart, as a photo
    chart = fake.calls_to("sendPhoto")[-1]
    assert int(chart.params["chat_id"]) == officer.user_id

    await world.says(officer, f"/export {case_id}")
    await world.settle()
    names = [str(c.params["document"].filename) for c in fake.calls_to("sendDocument") if c.ok]
    assert f"case-{case_id}-cap-1.xml" in names and f"case-{case_id}-pfif.xml" in names
    assert f"case-{case_id}-after-action.txt" in names
    assert len(names) == 4  # the alert, the all-clear at closing, the PFIF file, the after-action

    stranger = fake.user(7777, first_name="Curious", language_code="en")
    refused = await world.says(stranger, f"/export {case_id}")
    assert "Only police officers" in refused.body
    assert len(fake.calls_to("sendDocument")) == 4


async def test_place_names_fall_back_to_the_geocoder(fake: FakeBotApi, database_url: str) -> None:
    """A Nominatim-compatible server on 127.0.0.1, reached through geopy for real."""
    from aiohttp import web

    gate = offset(CENTRE, 400, 300)
    asked: list[str] = []

    async def search(request: web.Request) -> web.Response:
        asked.append(request.query.get("q", ""))
        if "museum" not in request.query.get("q", "").lower():
            return web.json_response([])
        return web.json_response(
            [{"lat": str(gate[0]), "lon": str(gate[1]), "display_name": "City Museum, East Rd",
              "place_id": 1, "osm_type": "node", "osm_id": 1, "boundingbox": []}]
        )  # fmt: skip

    app = web.Application()
    app.router.add_get("/search", search)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        settings = world_settings(
            fake, database_url, SEARCHBOT_GEOCODER="nominatim",
            SEARCHBOT_GEOCODER_DOMAIN=f"http://127.0.0.1:{port}",
        )  # fmt: skip
        async with World(fake, settings) as world:
            family = fake.user(5001, first_name="Mother", language_code="en")
            await world.says(family, "/report")
            await world.says(family, "/skip")
            await world.says(family, "Li")
            sex = await world.says(family, "7")
            await world.taps(family, sex, "Girl")
            await world.says(family, "yellow coat")
            unknown = await world.says(family, "nowhere street 99")
            assert "could not find" in unknown.body
            check = await world.says(family, "city museum")
            assert "I found City Museum, East Rd" in check.body
            when = await world.taps(family, check, "Yes")
            assert when is not None and "When were they last seen" in when.body
        assert asked == ["nowhere street 99", "city museum"]
    finally:
        await runner.cleanup()
