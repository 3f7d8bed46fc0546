"""Small image files for avatar tests, built in memory."""

import io
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def image_bytes(*, size=(120, 80), color=(200, 30, 30), image_format="PNG", **save_options) -> bytes:
    mode = "RGB" if image_format == "JPEG" else "RGBA"
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format=image_format, **save_options)
    return buffer.getvalue()


def upload(content: bytes, name: str = "picture.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def jpeg_with_exif() -> bytes:
    """A camera-like JPEG that carries metadata (maker, model, software) that stored copies must not keep."""
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Industries"  # Make
    exif[0x0110] = "Model 007"  # Model
    exif[0x0131] = "Secret firmware 1.2"  # Software
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def png_upload(**kwargs) -> SimpleUploadedFile:
    return upload(image_bytes(image_format="PNG", **kwargs))


def jpeg_upload(**kwargs) -> SimpleUploadedFile:
    return upload(image_bytes(image_format="JPEG", **kwargs), name="picture.jpg", content_type="image/jpeg")


def huge_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of the given dimensions whose file is tiny: a decompression bomb.

    Pillow would need one byte per pixel to build such an image, so the file is
    written chunk by chunk here instead of through `Image.new`.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def open_stored(field_file) -> Image.Image:
    """Decode a stored ImageField file fully and close it."""
    with field_file.open("rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
    return image
