"""The error a fake Bot API method raises to produce a Telegram error response."""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError"]


class ApiError(Exception):
    """An unsuccessful Bot API answer: ``{"ok": false, "error_code", "description", ...}``.

    ``violation`` marks errors caused by the bot breaking the Bot API contract
    (bad parameters, unparsable HTML, over-long text...) as opposed to ordinary
    runtime conditions (chat not found, bot blocked, message already deleted).
    Violations are also recorded in ``FakeBotApi.violations``; ``detail`` is
    extra context for that record only.
    """

    def __init__(
        self,
        code: int,
        description: str,
        *,
        violation: bool = False,
        parameters: dict[str, Any] | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.violation = violation
        self.parameters = parameters
        self.detail = detail

    @classmethod
    def bad_request(
        cls, message: str, *, violation: bool = False, detail: str | None = None
    ) -> ApiError:
        """A 400 ``Bad Request: <message>``."""
        return cls(400, f"Bad Request: {message}", violation=violation, detail=detail)

    @classmethod
    def forbidden(cls, message: str) -> ApiError:
        """A 403 ``Forbidden: <message>``."""
        return cls(403, f"Forbidden: {message}")

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram would answer."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body

    def violation_text(self) -> str:
        """Readable violation record (without the method name)."""
        text = self.description.removeprefix("Bad Request: ").removeprefix("Not Found: ")
        return f"{text} ({self.detail})" if self.detail else text
