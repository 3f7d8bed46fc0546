"""Serving stored files to people a view has already checked may see them (media is never public)."""

from django.http import FileResponse, Http404


def protected_file_response(field, *, download_name: str, content_type: str, inline: bool) -> FileResponse:
    """The file of `field`: shown in the page only when `inline` (images), else downloaded; nothing a browser runs."""
    if not field:
        raise Http404("No file.")
    response = FileResponse(
        field.open("rb"), as_attachment=not inline, filename=download_name, content_type=content_type
    )
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response
