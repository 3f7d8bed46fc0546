"""Small real media files for update tests."""

import io
import math
import struct
import wave


def wav_bytes(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A playable mono 16-bit WAV: a 440 Hz tone."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        frames = (int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate)))
        sound.writeframes(b"".join(struct.pack("<h", frame) for frame in frames))
    return buffer.getvalue()
