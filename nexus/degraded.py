"""Which helpers this process is running without, since when, and why.

Redis is a helper (DESIGN.md, "Failure modes"): when it cannot be reached the
cache, the channel layer and the send rate limiter carry on without it. Each
of them reports here, so the change is logged once when it happens (and once
when it ends, not on every failed call) and `/health/` can say that this
process is degraded even between two of its checks.

Process-wide and thread-safe: the web threads, the consumers' database thread
and the event loop all report to the same record.
"""

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

logger = logging.getLogger("nexus.degraded")

# While a part has failed, another failure is logged at most this often.
REPEAT_LOG_SECONDS = 60.0


@dataclass
class Outage:
    since: float  # time.time() of the first failure
    error: str
    fallback: str
    failures: int = 1
    logged_at: float = 0.0
    retry_at: float = 0.0  # time.monotonic() before which callers should not try the part again


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=UTC).isoformat(timespec="seconds")


_lock = threading.Lock()
_outages: dict[str, Outage] = {}


def failed(part: str, error: BaseException | str, *, fallback: str, retry_after: float = 0.0) -> None:
    """Record that `part` failed just now and what serves instead of it.

    `retry_after`: for that many seconds `waiting(part)` is true, so that every caller does not make
    the next request wait for the same failure.
    """
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    now = time.time()
    with _lock:
        outage = _outages.get(part)
        if outage is None:
            outage = _outages[part] = Outage(since=now, error=text, fallback=fallback)
            first = True
        else:
            outage.failures += 1
            outage.error = text
            first = False
        if retry_after:
            outage.retry_at = time.monotonic() + retry_after
        log = first or now - outage.logged_at >= REPEAT_LOG_SECONDS
        if log:
            outage.logged_at = now
            failures = outage.failures
    if log:
        logger.warning(
            "%s degraded: %s; %s (%s failure%s since %s)",
            part,
            text,
            fallback,
            failures,
            "" if failures == 1 else "s",
            _iso(outage.since),
        )


def recovered(part: str) -> None:
    """Record that `part` works again (cheap when it never failed)."""
    if part not in _outages:
        return
    with _lock:
        outage = _outages.pop(part, None)
    if outage is not None:
        logger.warning(
            "%s recovered after %.1f s (%d failure%s)",
            part,
            time.time() - outage.since,
            outage.failures,
            "" if outage.failures == 1 else "s",
        )


def is_degraded(part: str) -> bool:
    return part in _outages


def waiting(part: str) -> bool:
    """Whether `part` failed less than the `retry_after` of its last failure ago."""
    outage = _outages.get(part)
    return outage is not None and time.monotonic() < outage.retry_at


def report() -> dict[str, dict]:
    """Every current outage: {part: {"since": ISO time, "error": ..., "fallback": ..., "failures": n}}."""
    with _lock:
        outages = dict(_outages)
    return {
        part: {
            "since": _iso(outage.since),
            "error": outage.error,
            "fallback": outage.fallback,
            "failures": outage.failures,
        }
        for part, outage in sorted(outages.items())
    }


def reset() -> None:
    """Forget every outage (tests)."""
    with _lock:
        _outages.clear()
