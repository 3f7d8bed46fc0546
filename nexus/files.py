"""Serving stored files to people a view has already checked may see them (media is never public)."""

import re

from django.http import FileResponse, Http404, HttpResponse

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# A range answer carries at most this much; the browser asks again for the rest, as with any server.
MAX_RANGE_BYTES = 4 * 1024 * 1024


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single "bytes=" range within `size`, or None for a header to ignore."""
    match = _RANGE.match(header.strip())
    if not match or not any(match.groups()):
        return None
    first, last = match.groups()
    if first == "":  # The last N bytes.
        first, last = max(size - int(last), 0), size - 1
    else:
        first, last = int(first), min(int(last), size - 1) if last else size - 1
    return (first, last) if first <= last else None


def protected_file_response(
    field, *, download_name: str, content_type: str, inline: bool, request=None
) -> FileResponse | HttpResponse:
    """The file of `field`: shown in the page only when `inline` (images, videos), else downloaded; nothing a
    browser runs. With `request`, a single byte range is answered with 206 so that videos can seek."""
    if not field:
        raise Http404("No file.")
    headers = {
        "Cache-Control": "private, max-age=3600",
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
    }
    wanted = request.headers.get("Range", "") if request is not None else ""
    if wanted:
        size = field.size
        span = _byte_range(wanted, size)
        if span is None:
            return HttpResponse(status=416, headers={"Content-Range": f"bytes */{size}", **headers})
        first, last = span[0], min(span[1], span[0] + MAX_RANGE_BYTES - 1)
        with field.open("rb") as stored:
            stored.seek(first)
            body = stored.read(last - first + 1)
        return HttpResponse(
            body,
            status=206,
            content_type=content_type,
            headers={"Content-Range": f"bytes {first}-{last}/{size}", "Accept-Ranges": "bytes", **headers},
        )
    response = FileResponse(
        field.open("rb"), as_attachment=not inline, filename=download_name, content_type=content_type
    )
    response["Accept-Ranges"] = "bytes" if request is not None else "none"
    for name, value in headers.items():
        response[name] = value
    return response
