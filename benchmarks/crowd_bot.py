"""The bot of the crowd benchmark, in its own process: ``searchbot run`` exactly as in
production (configured from the environment), plus a profiler the benchmark can switch on and
off from outside, so a profile covers the burst and nothing else.

    python benchmarks/crowd_bot.py PROFILE_FILE   # SIGUSR1 starts cProfile, SIGUSR2 writes it
    python benchmarks/crowd_bot.py                # no profiler: the same as ``searchbot run``
"""

from __future__ import annotations

import cProfile
import signal
import sys
from types import FrameType

from searchbot.cli import main


def profile_on_signals(path: str) -> None:
    """SIGUSR1 starts profiling the main thread (the event loop's); SIGUSR2 writes the profile
    to ``path``. Handlers run on the main thread between bytecodes, so the loop is profiled."""
    profiler = cProfile.Profile()

    def start(signum: int, frame: FrameType | None) -> None:
        profiler.enable()

    def write(signum: int, frame: FrameType | None) -> None:
        profiler.disable()
        profiler.dump_stats(path)
        print(f"profile written to {path}", file=sys.stderr, flush=True)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, write)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        profile_on_signals(sys.argv[1])
    raise SystemExit(main(["run"]))
