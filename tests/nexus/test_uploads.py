"""Uploads are recognised by their content, not by their name."""

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from nexus.uploads import check_upload, sniff
from tests.accounts.images import image_bytes


def _file(content: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def _office(folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}document.xml", "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"%PDF-1.7\n...", "a.bin", "application/pdf"),
        (image_bytes(image_format="PNG"), "a.pdf", "image/png"),
        (image_bytes(image_format="JPEG"), "a.png", "image/jpeg"),
        (image_bytes(image_format="GIF"), "a.gif", "image/gif"),
        (image_bytes(image_format="WEBP"), "a.webp", "image/webp"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00", "clip.mp4", "video/mp4"),
        (b"\x1a\x45\xdf\xa3\x9fB\x86\x81\x01", "clip.webm", "video/webm"),
        # Audio (seed 001): by the content, whatever the name says.
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "voice.bin", "audio/mpeg"),
        (b"\xff\xfb\x90\x64" + b"\x00" * 32, "noise.mp3", "audio/mpeg"),  # An MP3 frame without a tag.
        (b"\xff\xfea\x00b\x00", "data.csv", ""),  # UTF-16 text, not MPEG audio.
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "alarm.wav", "audio/wav"),
        (b"fLaC\x00\x00\x00\x22", "bearing.flac", "audio/flac"),
        (b"OggS\x00\x02" + b"\x00" * 22 + b"\x01\x13OpusHead", "note.ogg", "audio/ogg"),
        (b"OggS\x00\x02" + b"\x00" * 22 + b"\x01\x2a\x80theora", "clip.ogg", ""),  # Ogg video: not accepted.
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "memo.m4a", "audio/mp4"),
        (b"\x1a\x45\xdf\xa3\x9fB\x86\x81\x01" + b"\x86\x86A_OPUS", "voice.weba", "audio/webm"),
        (b"\x1a\x45\xdf\xa3\x9fB\x86\x81\x01" + b"\x86\x85V_VP9\x86\x86A_OPUS", "clip.webm", "video/webm"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "photo.mp4", ""),  # A phone photo, not a video.
        (b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00", "photo.mp4", ""),
        (_office("xl/"), "sheet.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (_office("word/"), "letter.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("line,größe\n1,2\n".encode(), "data.csv", "text/csv"),
        (b"plain words", "notes.txt", "text/plain"),
        (b"plain words", "notes.pdf", ""),  # Text is text only with a text name; never a PDF.
        (b"\x00\x01binary", "notes.txt", ""),
        (b"MZ\x90\x00", "setup.exe", ""),
    ],
)
def test_it_reads_the_type_from_the_content(content, name, expected):
    assert sniff(_file(content, name), name) == expected


def test_it_refuses_empty_oversized_and_unlisted_files_with_a_reason():
    allowed = frozenset({"application/pdf"})
    with pytest.raises(ValidationError, match="empty"):
        check_upload(_file(b"", "a.pdf"), allowed=allowed, max_bytes=100)
    with pytest.raises(ValidationError, match="too large"):
        check_upload(_file(b"%PDF-" + b"x" * 200, "a.pdf"), allowed=allowed, max_bytes=100)
    with pytest.raises(ValidationError, match="not accepted"):
        check_upload(_file(image_bytes(), "a.pdf"), allowed=allowed, max_bytes=10**6)
    assert check_upload(_file(b"%PDF-1.4", "C:\\temp\\rules.pdf"), allowed=allowed, max_bytes=100) == (
        "rules.pdf",
        "application/pdf",
    )
