"""Uploaded images: decoded fully before anything is kept, so a bad file is refused with a reason.

Avatars (accounts) and chat images use this; each re-encodes what it keeps, so
only the pixels of an upload survive (no metadata, no polyglot payloads).
"""

import io
import warnings

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP"})


def open_image(upload, *, max_bytes: int, max_pixels: int) -> Image.Image:
    """Decode an uploaded image fully, or raise ValidationError saying why not."""
    if upload.size > max_bytes:
        raise ValidationError(f"The image is too large: at most {max_bytes // 1024} KB.")
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            # A decompression bomb is rejected, not merely warned about.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(upload)
            if image.format not in IMAGE_FORMATS:
                raise ValidationError("Upload a JPEG, PNG, GIF or WebP image.")
            width, height = image.size
            if width * height > max_pixels:
                raise ValidationError(f"The image has too many pixels ({width} x {height}).")
            image.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError("The image has too many pixels.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError("The file is not a readable image.") from None
    finally:
        upload.seek(0)
    return ImageOps.exif_transpose(image)


def thumbnail(image: Image.Image, *, size: int) -> ContentFile:
    """A JPEG of `image` that fits in `size` x `size` pixels, keeping its proportions."""
    small = image.copy()
    small.thumbnail((size, size))
    return encode(small, name="thumb.jpg", image_format="JPEG")


def encode(image: Image.Image, *, name: str, image_format: str = "PNG") -> ContentFile:
    """The image re-encoded as PNG (keeps transparency) or JPEG (photos, smaller)."""
    if image_format == "JPEG":
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if image.mode in ("LA", "P", "PA") else "RGB")
    buffer = io.BytesIO()
    options = {"quality": 82, "optimize": True} if image_format == "JPEG" else {"optimize": True}
    image.save(buffer, format=image_format, **options)
    return ContentFile(buffer.getvalue(), name=name)
