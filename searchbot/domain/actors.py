"""Who is acting, and where."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who is acting, and where: the identity every use case checks permissions against."""

    user_id: int
    chat_id: int
    name: str = ""
    language: str = "zh"

    @property
    def in_private(self) -> bool:
        return self.chat_id == self.user_id


__all__ = ["Actor"]
