"""Pictures (the /stats chart, the /map picture) drawn off the event loop, one at a time.

matplotlib's first import and a render take a good fraction of a second of CPU (seconds on a
busy machine, and the first use builds its font cache): drawn on the event loop, that time held
back every alert and reply of the bot. A worker thread keeps the loop free; the lock keeps two
renders apart, since the fonts are chosen through matplotlib's global ``rc_context``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import ParamSpec

P = ParamSpec("P")
_ONE_AT_A_TIME = threading.Lock()


async def drawn(render: Callable[P, bytes], *args: P.args, **kwargs: P.kwargs) -> bytes:
    """``render(*args, **kwargs)`` in a worker thread: the PNG's bytes."""

    def alone() -> bytes:
        with _ONE_AT_A_TIME:
            return render(*args, **kwargs)

    return await asyncio.to_thread(alone)
