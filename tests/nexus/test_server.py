"""Daphne's own limits (`nexus.server`), on a real daphne: answers where twisted and autobahn used to drop."""

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import websockets
from django.test import Client

# Imported before any test server starts, as the rest of the suite does: the limits must outlive daphne's
# test server importing daphne.server afresh in its child process.
import nexus.asgi  # noqa: F401
from nexus.frames import CLOSE_TOO_LARGE


def _raw_request(base_url: str, request: bytes) -> bytes:
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _status_and_body(response: bytes) -> tuple[bytes, dict]:
    head, _, body = response.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], json.loads(body)


def test_it_answers_a_60_kb_query_string_with_414(asgi_live_server):
    query = "q=" + "a" * 60_000
    response = _raw_request(asgi_live_server, f"GET /health/?{query} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    status, body = _status_and_body(response)
    assert status == b"HTTP/1.1 414 URI Too Long"
    assert "shorten the URL" in body["detail"]


def test_it_answers_an_over_long_header_with_431(asgi_live_server):
    request = "GET /health/ HTTP/1.1\r\nHost: localhost\r\nX-Padding: " + "b" * 20_000 + "\r\n\r\n"
    status, body = _status_and_body(_raw_request(asgi_live_server, request.encode()))
    assert status == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert "header" in body["detail"]


def test_it_still_serves_an_ordinary_request(asgi_live_server):
    response = _raw_request(
        asgi_live_server, b"GET /health/?q=short HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    assert response.startswith(b"HTTP/1.1 ")
    assert not response.startswith(b"HTTP/1.1 414")


async def _send_and_wait_for_close(url: str, cookie: str, frame: str) -> int | None:
    async with websockets.connect(
        url, origin=url.replace("ws://", "http://").removesuffix("/ws/"), additional_headers={"Cookie": cookie}
    ) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["type"] == "hello"
        await ws.send(json.dumps({"type": "ping", "id": 1}))
        while json.loads(await asyncio.wait_for(ws.recv(), 10)).get("type") != "pong":
            pass
        try:
            await ws.send(frame)
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None


@pytest.mark.parametrize("size", [70_000, 1_100_000, 8_000_000])
def test_it_closes_a_socket_with_1009_for_an_oversized_frame_at_any_size(asgi_live_server, alice, size):
    client = Client()
    client.force_login(alice, backend="accounts.backends.ModelBackend")
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    url = asgi_live_server.replace("http://", "ws://") + "/ws/"
    frame = json.dumps({"type": "ping", "pad": "x" * size})
    assert asyncio.run(_send_and_wait_for_close(url, cookie, frame)) == CLOSE_TOO_LARGE


def test_it_gives_a_handshake_time_enough_for_a_storm_of_reconnects(settings):
    from types import SimpleNamespace

    from daphne.ws_protocol import WebSocketFactory

    settings.WS_CONNECT_TIMEOUT = 60
    # As daphne's command line configures it: 5 s for the application to accept, 5 s for autobahn's handshake.
    server = SimpleNamespace(websocket_connect_timeout=5)
    factory = WebSocketFactory(server, server="daphne")
    factory.setProtocolOptions(openHandshakeTimeout=5, maxMessagePayloadSize=1024 * 1024, maxFramePayloadSize=0)
    assert server.websocket_connect_timeout == 60
    assert factory.openHandshakeTimeout == 60
    assert factory.maxMessagePayloadSize == factory.maxFramePayloadSize == settings.WS_MAX_FRAME_BYTES
    assert factory.failByDrop is False


def test_it_keeps_a_longer_or_unlimited_handshake_time_given_on_the_command_line(settings):
    from types import SimpleNamespace

    from daphne.ws_protocol import WebSocketFactory

    for given in (-1, 300):
        server = SimpleNamespace(websocket_connect_timeout=given)
        WebSocketFactory(server, server="daphne").setProtocolOptions(openHandshakeTimeout=5)
        assert server.websocket_connect_timeout == given


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("tcp:port=8000:interface=127.0.0.1", "tcp:port=8000:interface=127.0.0.1:backlog=4096"),
        ("tcp6:port=8000:interface=\\:\\:", "tcp6:port=8000:interface=\\:\\::backlog=4096"),
        ("unix:/run/nexus.sock", "unix:/run/nexus.sock:backlog=4096"),
        ("tcp:port=8000:backlog=64", "tcp:port=8000:backlog=64"),
        ("fd:fileno=3", "fd:fileno=3"),
    ],
)
def test_it_gives_listening_endpoints_a_deep_backlog_unless_they_name_one(description, expected):
    from nexus.server import with_backlog

    assert with_backlog(description, 4096) == expected


def _listen_backlog(port: int) -> int | None:
    """The listening socket's accept queue size, as `ss` reports it (its Send-Q column)."""
    output = subprocess.run(  # noqa: S603
        [shutil.which("ss"), "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(output[2]) if output else None


def test_daphnes_command_line_listens_with_the_configured_backlog(tmp_path):
    """Twisted's backlog of 50 overflowed in reconnect storms; the command line production runs gets its own."""
    if shutil.which("ss") is None:
        pytest.skip("needs ss (iproute2) to read the listen queue")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "NEXUS_LISTEN_BACKLOG": "777"}
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "nexus.asgi:application"]
    with (tmp_path / "daphne.log").open("w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            deadline = time.monotonic() + 60
            while (backlog := _listen_backlog(port)) is None and time.monotonic() < deadline:
                assert server.poll() is None, (tmp_path / "daphne.log").read_text()
                time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(timeout=15)
    assert backlog == min(777, int(Path("/proc/sys/net/core/somaxconn").read_text()))
