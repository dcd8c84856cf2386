"""A pressed button's update is read without the message it was pressed on (a crowd's CPU),
while what the bot checks on a press, and every message people send, stays whole."""

from __future__ import annotations

import json

from telegram import Update

from searchbot.telegram.bot_http import AiohttpRequest
from searchbot.telegram.lean_updates import SHOWN_ON, ShownOn, lean, shown_on

BOT = {"id": 42, "is_bot": True, "first_name": "searchbot"}
PERSON = {"id": 7, "is_bot": False, "first_name": "Ana"}
GROUP = {"id": -100, "type": "supergroup", "title": "Shops"}
PHOTO = [
    {"file_id": f"p{i}", "file_unique_id": f"u{i}", "width": 90, "height": 90} for i in range(4)
]
KEYBOARD = {"inline_keyboard": [[{"text": "Checked", "callback_data": "chk:5"}]]}


def _alert() -> dict[str, object]:
    return {
        "message_id": 3, "date": 1, "chat": GROUP, "from": BOT, "photo": PHOTO,
        "caption": "Missing: a child of 5, call +86 138 0000 0000",
        "caption_entities": [{"type": "bold", "offset": 0, "length": 8}],
        "reply_markup": KEYBOARD,
    }  # fmt: skip


def _updates() -> bytes:
    press = {"id": "q1", "from": PERSON, "chat_instance": "c", "data": "chk:5", "message": _alert()}
    sent = {"message_id": 9, "date": 2, "chat": {"id": 7, "type": "private"}, "from": PERSON,
            "photo": PHOTO, "caption": "my child"}  # fmt: skip
    result = [{"update_id": 1, "callback_query": press}, {"update_id": 2, "message": sent}]
    return json.dumps({"ok": True, "result": result}).encode()


def test_a_press_keeps_what_the_bot_checks_and_loses_the_picture() -> None:
    payload = AiohttpRequest().parse_json_payload(_updates())
    press, sent = (Update.de_json(u, None) for u in payload["result"])
    assert press is not None and press.callback_query is not None
    query = press.callback_query
    message = query.message  # its chat and id, nothing built of its photo, words or buttons
    assert message is not None and message.chat.id == -100 and message.message_id == 3
    assert not getattr(message, "photo", None) and not getattr(message, "caption", None)
    assert getattr(message, "reply_markup", None) is None
    assert press.effective_chat is not None and press.effective_chat.id == -100
    assert shown_on(query) == ShownOn(sender_id=42, buttons=("chk:5",))
    assert sent is not None and sent.message is not None  # what people send stays whole
    assert len(sent.message.photo) == 4 and sent.message.caption == "my child"


def test_a_press_on_a_message_telegram_did_not_send_shows_nothing() -> None:
    gone = {"update_id": 1, "callback_query": {"id": "q", "from": PERSON, "chat_instance": "c",
            "data": "chk:5", "message": {"message_id": 3, "date": 0, "chat": GROUP}}}  # fmt: skip
    query = Update.de_json(lean(gone), None).callback_query  # type: ignore[union-attr]
    assert query is not None and shown_on(query) is None
    inline = {"update_id": 2, "callback_query": {"id": "q", "from": PERSON, "chat_instance": "c",
              "data": "chk:5", "inline_message_id": "i"}}  # fmt: skip
    query = Update.de_json(lean(inline), None).callback_query  # type: ignore[union-attr]
    assert query is not None and shown_on(query) is None


def test_a_keyboard_of_links_and_odd_shapes_gives_only_callback_data() -> None:
    markup = {"inline_keyboard": [[{"text": "map", "url": "https://example.org"},
                                   {"text": "ok", "callback_data": "ok:1"}], "junk", [7]]}  # fmt: skip
    update = lean({"update_id": 1, "callback_query": {"id": "q", "message": {**_alert(),
                   "reply_markup": markup, "from": "junk"}}})  # fmt: skip
    assert update["callback_query"][SHOWN_ON] == {"sender_id": None, "buttons": ["ok:1"]}


def test_other_answers_pass_as_they_came() -> None:
    request = AiohttpRequest()
    answer = {"ok": True, "result": {"message_id": 3, "photo": PHOTO}}
    assert request.parse_json_payload(json.dumps(answer).encode()) == answer
    assert request.parse_json_payload(b'{"ok":true,"result":true}') == {"ok": True, "result": True}


def test_a_webhooks_update_is_made_lean_too() -> None:
    update = lean({"update_id": 1, "callback_query": {"id": "q", "message": _alert()}})
    assert update["callback_query"]["message"] == {"chat": GROUP, "message_id": 3, "date": 0}
    assert lean({"update_id": 2, "message": {"text": "hi"}}) == {"update_id": 2,
                                                                  "message": {"text": "hi"}}  # fmt: skip
    assert lean("garbage") == "garbage"
