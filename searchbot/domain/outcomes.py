"""How a search ends."""

from __future__ import annotations

from enum import StrEnum


class CaseOutcome(StrEnum):
    """How a closed case ended."""

    FOUND = "found"
    FALSE_ALARM = "false_alarm"
    WITHDRAWN = "withdrawn"

    @classmethod
    def parse(cls, text: str) -> CaseOutcome | None:
        """The outcome a person typed or a button carried; None for anything else."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            return None


FAMILY_OUTCOMES = (CaseOutcome.FOUND, CaseOutcome.WITHDRAWN)  # what a family may close with
