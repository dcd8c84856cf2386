"""A message's Bot API call in plain values: the parameters written straight from an ``Out``
and the message id read straight from Telegram's answer.

python-telegram-bot builds an object for every button before it writes the call, and reads the
whole Message it gets back into objects; for an alert that was more CPU than everything else
the bot does to send it, and a paid burst sends a thousand a second. The call still goes
through the bot's own request (its connections, timeouts, and the library's reading of
Telegram's errors into exceptions); only uploads still take the library's long way.
"""

from __future__ import annotations

from typing import Any

from telegram import Bot
from telegram.request import RequestData

# The parameter type of the library's RequestData (internal to it, but what any of its request
# classes reads: a real RequestData, not a look-alike)
from telegram.request._requestparameter import RequestParameter

from searchbot.domain.messages import Out

_NO_PREVIEW = {"is_disabled": True}


def keyboard(out: Out) -> dict[str, Any] | None:
    """The reply markup as the Bot API's JSON: a forced reply, the inline buttons, or none."""
    if out.force_reply:
        return {"force_reply": True, "selective": False}
    if not out.buttons:
        return None
    rows = [[_button(button.text, button.data, button.url, button.web_app) for button in row]
            for row in out.buttons]  # fmt: skip
    return {"inline_keyboard": rows}


def _button(text: str, data: str | None, url: str | None, app: str | None) -> dict[str, Any]:
    button: dict[str, Any] = {"text": text}
    if data is not None:
        button["callback_data"] = data
    if url is not None:
        button["url"] = url
    if app is not None:
        button["web_app"] = {"url": app}
    return button


def call_of(chat_id: int, out: Out, extra: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The method and parameters that send ``out`` (no upload) to ``chat_id``."""
    fields: dict[str, Any] = {"chat_id": chat_id}
    if out.photo:
        method = "sendPhoto"
        fields.update(photo=out.photo, caption=out.text or None, parse_mode="HTML")
    elif out.location:
        method = "sendLocation"
        fields.update(latitude=out.location[0], longitude=out.location[1])
    else:
        method = "sendMessage"
        fields.update(text=out.text, parse_mode="HTML", link_preview_options=_NO_PREVIEW)
    if out.reply_to is not None:
        fields["reply_parameters"] = {
            "message_id": out.reply_to,
            "allow_sending_without_reply": True,
        }
    if out.protect:
        fields["protect_content"] = True
    fields.update(reply_markup=keyboard(out), **extra)
    return method, {name: value for name, value in fields.items() if value is not None}


async def send(bot: Bot, chat_id: int, out: Out, **extra: Any) -> int:
    """Send ``out`` (no upload); returns the message id. Raises telegram errors as they come."""
    method, fields = call_of(chat_id, out, extra)
    data = RequestData([RequestParameter(name, value, []) for name, value in fields.items()])
    result = await bot.request.post(f"{bot.base_url}/{method}", request_data=data)
    return int(result["message_id"])  # type: ignore[call-overload, index]
