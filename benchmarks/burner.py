"""Busy cores beside a benchmark: one process per core spinning in pure Python, at the same
priority as the bot, as another program on the same machine would be (``crowd.py --burner``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SPIN = "while True:\n    pass\n"


@contextmanager
def burners(count: int | None = None) -> Iterator[int]:
    """``count`` (default: one per core) CPU burners for the duration of the block."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SPIN],
            stdin=subprocess.DEVNULL,
            preexec_fn=lambda: os.setpriority(os.PRIO_PROCESS, 0, 0),  # an ordinary program
        )
        for _ in range(count or os.cpu_count() or 1)
    ]
    try:
        yield len(processes)
    finally:
        for process in processes:
            process.kill()
        for process in processes:
            process.wait()


def side_by_side(quiet: dict[str, Any], busy: dict[str, Any], count: int) -> dict[str, Any]:
    """A burst's figures (``crowd`` records) on the machine as it was, and with ``count``
    burners keeping every core busy."""
    keys = ("presses_per_s", "answer_median_ms", "answer_p99_ms", "confirm_answered_ms",
            "sighting_to_family_ms", "cpu_s")  # fmt: skip
    return {
        "bench": "crowd-burner-compare",
        "burners": count,
        **{f"{key}_quiet": quiet.get(key) for key in keys},
        **{f"{key}_burner": busy.get(key) for key in keys},
    }
