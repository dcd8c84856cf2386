"""What the bot says, independent of Telegram: a text (HTML), maybe a photo or a pin, buttons.

Use cases return and enqueue these; the Telegram adapter renders them. They round-trip through
the outbox as plain JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Op(StrEnum):
    """What an outbox row asks of Telegram (the payload's ``op``); the builders are
    ``Out.to_payload`` and ``searchbot.models.outbox``'s ``*_op`` functions."""

    SEND = "send"  # a new message (text, photo or pin)
    DELETE = "delete"  # a retraction: delete, or put the placeholder in its place
    EDIT_BUTTONS = "edit_buttons"  # an alert's counters
    DIGEST = "digest"  # a folded officers' message, written when it is sent
    EDIT = "edit"  # that digest, edited in place
    RENEW = "renew"  # that digest, sent anew (the old one deleted)


@dataclass(frozen=True)
class Button:
    """An inline button: a callback (``data``), a link (``url``) or a Telegram Mini App
    (``web_app``, its URL: private chats only)."""

    text: str
    data: str | None = None
    url: str | None = None
    web_app: str | None = None


@dataclass(frozen=True)
class Out:
    """One message. ``text`` is HTML (the caption when there is a photo)."""

    text: str = ""
    photo: str | None = None
    location: tuple[float, float] | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()
    force_reply: bool = False
    reply_to: int | None = None
    # Telegram's protect_content: no forwarding or saving (alerts and sighting photos in groups)
    protect: bool = False
    # a file to upload (a chart, an export): only in direct answers, never through the outbox
    upload: bytes | None = None
    upload_name: str = ""

    def for_chat(self, chat_id: int) -> Out:
        """This message as it may go to ``chat_id``: Telegram takes Mini App buttons only in
        private chats (positive ids), so groups get the others."""
        if chat_id > 0 or not any(b.web_app for row in self.buttons for b in row):
            return self
        rows = tuple(tuple(b for b in row if not b.web_app) for row in self.buttons)
        return replace(self, buttons=tuple(row for row in rows if row))

    def to_payload(self) -> dict[str, Any]:
        assert self.upload is None, "uploads are answered directly, not queued"
        payload: dict[str, Any] = {"op": Op.SEND.value, "text": self.text}
        if self.photo:
            payload["photo"] = self.photo
        if self.location:
            payload["location"] = list(self.location)
        if self.buttons:
            payload["buttons"] = [
                [{k: v for k, v in vars(b).items() if v is not None} for b in row]
                for row in self.buttons
            ]
        if self.force_reply:
            payload["force_reply"] = True
        if self.reply_to:
            payload["reply_to"] = self.reply_to
        if self.protect:
            payload["protect"] = True
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Out:
        location = payload.get("location")
        return cls(
            text=payload.get("text", ""),
            photo=payload.get("photo"),
            location=(location[0], location[1]) if location else None,
            buttons=tuple(
                tuple(Button(**button) for button in row) for row in payload.get("buttons", [])
            ),
            force_reply=bool(payload.get("force_reply")),
            reply_to=payload.get("reply_to"),
            protect=bool(payload.get("protect")),
        )


@dataclass
class Answer:
    """What a use case says back to the person who acted (in the chat they acted in)."""

    messages: list[Out] = field(default_factory=list)
    toast: str | None = None  # for a button press: the short popup text
    alert: bool = False  # show the toast as a modal alert
    # people whose role changed (or who just arrived as officers): their "/" menu must follow
    menus_for: list[int] = field(default_factory=list)

    def say(self, text: str, **kwargs: Any) -> Answer:
        self.messages.append(Out(text=text, **kwargs))
        return self

    def add(self, out: Out) -> Answer:
        self.messages.append(out)
        return self

    def pressed_in(self, private: bool) -> Answer:
        """This answer to a button pressed in a private chat, or in a group: a group hears only
        the words of it (a picture or a place meant for the presser stays out of the group)."""
        if not private:
            self.messages = [out for out in self.messages if out.text]
        return self
