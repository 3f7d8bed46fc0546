"""JSON frames over WebSockets: read strictly and written as real JSON, for every socket Nexus serves.

Python's `json` accepts more than JSON: the literals `NaN`, `Infinity` and
`-Infinity`, and numbers such as `1e999999` that overflow to infinity. Echoed
back, those produce frames no browser can parse. It also recurses once per
level of nesting, so `[[[[...]]]]` raises `RecursionError`, not `ValueError`.
`parse_frame` refuses all of them with a `FrameError` whose text goes back to
the client, and `dumps` refuses to write a non-finite number.
"""

import json
import math


class FrameError(Exception):
    """A frame that cannot be served; its text goes back to the client."""


class FrameTooLarge(FrameError):
    """A frame over the size limit: the socket is closed with 1009, as daphne does for larger ones."""


CLOSE_TOO_LARGE = 1009


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:20]} is too large a number")
    return number


def parse_frame(text: str | None, bytes_data: bytes | None, *, max_bytes: int) -> dict:
    """The frame as a dict with a string "type", or FrameError (FrameTooLarge past `max_bytes` bytes)."""
    if bytes_data is not None:
        raise FrameError("Binary frames are not accepted; send JSON text.")
    text = text or ""
    # A str's length is at most its UTF-8 length: encode only when the cheap check cannot decide.
    if len(text) > max_bytes or (len(text) * 4 > max_bytes and len(text.encode()) > max_bytes):
        raise FrameTooLarge(f"Frame too large: at most {max_bytes} bytes.")
    try:
        frame = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise FrameError("Malformed frame: nested too deeply.") from None
    except ValueError:
        raise FrameError("Malformed frame: not JSON.") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise FrameError("Malformed frame: expected an object with a string 'type'.")
    return frame


def dumps(payload) -> str:
    """`payload` as JSON text; ValueError for NaN or infinity rather than a frame that is not JSON."""
    return json.dumps(payload, allow_nan=False)
