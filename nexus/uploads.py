"""What an uploaded file really is, read from its first bytes rather than its name, and keeping storage in
step with the transaction that stores or deletes files.

Updates accept documents, images, short videos and audio; a file whose content does
not match one of the allowed kinds is refused, whatever its extension says.
"""

import mimetypes
import re
import zipfile
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from uuid import uuid4

from django.core.exceptions import ValidationError
from django.db import transaction

# Office Open XML documents are ZIP files that hold one of these folders.
_OFFICE_PARTS = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_STILL_IMAGE_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
_AUDIO_ONLY_BRANDS = {b"M4A ", b"M4B "}
# The first page of an Ogg stream names its codec; Theora is a video codec, and not accepted.
_OGG_AUDIO_CODECS = (b"\x01vorbis", b"OpusHead", b"\x7fFLAC", b"Speex")
# A Matroska / WebM CodecID element (0x86, a one-byte size, then "V_VP9", "A_OPUS", ...).
_MATROSKA_VIDEO_CODEC = re.compile(rb"\x86[\x81-\xff]V_")
_MATROSKA_AUDIO_CODEC = re.compile(rb"\x86[\x81-\xff]A_")
_TEXT_TYPES = {".csv": "text/csv", ".txt": "text/plain", ".md": "text/markdown", ".log": "text/plain"}


def random_path(folder: str, filename: str) -> str:
    """A stored file's path: a random name with the original's short extension, so no name is guessable,
    names never clash, and no uploaded name (any script, any length) reaches the file system."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    extension = "." + extension if re.fullmatch(r"[a-z0-9]{1,8}", extension) else ""
    return f"{folder}/{uuid4().hex}{extension}"


@contextmanager
def removing_files_on_failure(stored: Callable[[], Iterable]):
    """Files are written to storage inside the transaction; if the block fails, the files `stored()` names
    (stored FieldFiles, by then) are removed again, so a refused or failed change leaves none behind."""
    try:
        yield
    except BaseException:
        for field_file in stored():
            if field_file and field_file.name:
                field_file.storage.delete(field_file.name)
        raise


def delete_files_on_commit(stored: Iterable) -> None:
    """Remove these stored files once the deletion of their rows is committed (a rollback keeps them)."""
    stored = [field_file for field_file in stored if field_file and field_file.name]

    def remove():
        for field_file in stored:
            field_file.storage.delete(field_file.name)

    transaction.on_commit(remove)


def _sniff_zip(upload) -> str:
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return ""
    finally:
        upload.seek(0)
    if "[Content_Types].xml" in names:
        for prefix, mime_type in _OFFICE_PARTS.items():
            if any(name.startswith(prefix) for name in names):
                return mime_type
    return "application/zip"


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # The head may end inside a multi-byte character; only an error before the last 3 bytes counts.
        return error.start >= len(head) - 3
    return True


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """An MP3 without an ID3 tag starts with a frame header: 11 sync bits, then a valid version, layer,
    bitrate and sample rate."""
    if len(head) < 3 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    if head[1] == 0xFE:
        return False  # FF FE is the byte order mark of UTF-16 text, not MPEG-1 Layer I.
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, sample_rate = head[2] >> 4, (head[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate != 15 and sample_rate != 3


def _sniff_audio(head: bytes) -> str:
    if head.startswith(b"ID3") or _is_mpeg_audio_frame(head):
        return "audio/mpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"OggS"):
        return "audio/ogg" if any(codec in head[:512] for codec in _OGG_AUDIO_CODECS) else ""
    return ""


def sniff(upload, filename: str) -> str:
    """The MIME type the content shows, or "" when it is none of the kinds Nexus knows."""
    upload.seek(0)
    head = upload.read(4096)
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        # The same ISO container holds HEIC / AVIF photos; only video brands count as video.
        brand = head[8:12]
        if brand in _STILL_IMAGE_BRANDS:
            return ""
        if brand in _AUDIO_ONLY_BRANDS:
            return "audio/mp4"
        return "video/quicktime" if brand.startswith(b"qt") else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # A voice message recorded in a browser is WebM with only an audio track.
        if _MATROSKA_AUDIO_CODEC.search(head) and not _MATROSKA_VIDEO_CODEC.search(head):
            return "audio/webm"
        return "video/webm"
    audio = _sniff_audio(head)
    if audio:
        return audio
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(upload)
    extension = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension in _TEXT_TYPES and _looks_like_text(head):
        return _TEXT_TYPES[extension]
    return ""


def check_upload(upload, *, allowed: set[str] | frozenset[str], max_bytes: int) -> tuple[str, str]:
    """(clean file name, MIME type read from the content), or ValidationError saying why the upload is refused."""
    name = (getattr(upload, "name", "") or "file").replace("\\", "/").rsplit("/", 1)[-1][:200] or "file"
    if upload.size == 0:
        raise ValidationError(f"{name}: the file is empty.")
    if upload.size > max_bytes:
        raise ValidationError(f"{name}: the file is too large (at most {max_bytes // (1024 * 1024)} MB).")
    mime_type = sniff(upload, name)
    if not mime_type or mime_type not in allowed:
        kinds = ", ".join(sorted({(mimetypes.guess_extension(kind) or kind).lstrip(".") for kind in allowed}))
        raise ValidationError(f"{name}: this kind of file is not accepted (accepted: {kinds}).")
    return name, mime_type
