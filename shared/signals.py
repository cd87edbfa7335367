"""Graceful stop: signal handlers only set a flag; loops finish their batch and close."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import timedelta


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT; call from inside the running loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def sleep_or_stop(stop: asyncio.Event, pause: timedelta) -> None:
    """Wait `pause`, or less if `stop` is set meanwhile: a loop's pause never delays a stop."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=pause.total_seconds())
