"""Limits daphne enforces before the application sees a byte, whichever way daphne is started.

Daphne (twisted and autobahn underneath) leaves doors open that no Django
code can close, because the request never reaches Django:

- A request line longer than twisted's line limit (16 KiB), such as a 60 KB
  query string, makes twisted drop the TCP connection without an answer. Here
  it is answered `414 URI Too Long`, and an over-long header line
  `431 Request Header Fields Too Large`, each with a JSON reason, then closed.
- A WebSocket frame over daphne's size limit makes autobahn drop the TCP
  connection without a close frame (its `failByDrop` default), so a browser
  cannot tell a refused frame from a network failure. Here the limit is
  Nexus's own (`WS_MAX_FRAME_BYTES`, checked from the frame's header, before
  its payload is read) and an oversized frame is answered with the close code
  1009 ("message too big"), the same answer the consumer gives at any size.
- Twisted listens with a backlog of 50 connections. When every tab of a plant
  reconnects at once, the kernel's accept queue overflows (10,528 overflows in a
  storm of 5,000 sockets with a backlog of 1,024) and each dropped connection
  waits for TCP's retransmission, 1 s, 3 s, 7 s and longer. Here daphne's TCP,
  TLS and Unix endpoints listen with `LISTEN_BACKLOG` (4,096) unless the
  endpoint names its own.
- A WebSocket handshake not accepted within 5 s (daphne's command-line
  default) is cut off. Here it gets `WS_CONNECT_TIMEOUT` (60 s), so a storm of
  reconnects drains instead of repeating work that was thrown away.

Daphne offers no hook for these, so `install()` gives the two factory classes
that `daphne.server.Server.run` builds what they lack, and that method the backlog.
`nexus.asgi` calls it: every way of starting daphne (its command line, the
`runserver` command, the test servers) imports the application before the
server runs, so each gets these limits.
"""

import json

from autobahn.twisted.websocket import WebSocketServerFactory
from daphne.http_protocol import HTTPFactory
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory
from django.conf import settings
from twisted.web import http

# How long a refused request's connection stays open to drain what the client still sends.
LINGER_SECONDS = 5.0


def _discard(data: bytes) -> None:
    return None


def _plain_response(status: bytes, reason: str) -> bytes:
    body = json.dumps({"detail": reason}).encode()
    head = (
        b"HTTP/1.1 " + status + b"\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"Connection: close\r\n\r\n"
    )
    return head + body


class LimitedHTTPChannel(http.HTTPChannel):
    """Twisted's HTTP channel, answering an over-long line instead of dropping the connection."""

    def lineLengthExceeded(self, line):
        # Twisted keeps "is the next line the request line?" in a name-mangled attribute.
        if getattr(self, "_HTTPChannel__first_line", 0):
            response = _plain_response(
                b"414 URI Too Long",
                f"The request line is longer than {self.MAX_LENGTH} bytes: shorten the URL or its query string.",
            )
        else:
            response = _plain_response(
                b"431 Request Header Fields Too Large", f"A request header is longer than {self.MAX_LENGTH} bytes."
            )
        self.transport.write(response)
        # A lingering close, as nginx does: the client is still sending the rest of its request, and
        # closing with that unread would reset the connection, often before the client has read the answer.
        # So drop what still arrives, close only our side, and cut the connection after a grace period.
        self.dataReceived = _discard
        self.transport.loseWriteConnection()
        self.callLater(LINGER_SECONDS, self._abort_if_open)

    def _abort_if_open(self):
        if self.transport is not None and self.transport.connected:
            self.transport.abortConnection()


def _limited_channel_protocol(factory) -> http._GenericHTTPChannelProtocol:
    return http._GenericHTTPChannelProtocol(LimitedHTTPChannel())


def _limited_protocol_options(self, **options):
    """Daphne's WebSocket options with Nexus's frame limit, a close frame (1009) for frames over it, and time
    enough for a handshake in a storm of reconnects."""
    cap = settings.WS_MAX_FRAME_BYTES
    for name in ("maxMessagePayloadSize", "maxFramePayloadSize"):
        given = options.get(name) or 0
        options[name] = min(given, cap) if given > 0 else cap
    options["failByDrop"] = False
    # Daphne's command line gives a handshake 5 s. When every tab of a plant reconnects at once (a
    # deploy, a network blip) the handshakes queue for the database thread; each one cut off at 5 s
    # was work done for nothing, and its retry queued again, so past about 1,400 sockets nobody got
    # through. A browser waits far longer than 5 s for a handshake; so does the server now.
    patience = settings.WS_CONNECT_TIMEOUT
    options["openHandshakeTimeout"] = max(options.get("openHandshakeTimeout") or 0, patience)
    server = self.server_class
    if 0 <= server.websocket_connect_timeout < patience:
        server.websocket_connect_timeout = patience
    WebSocketServerFactory.setProtocolOptions(self, **options)


# Twisted endpoint kinds that listen on a socket of their own and take a `backlog` option.
LISTENING_ENDPOINTS = ("tcp", "tcp6", "ssl", "unix")


def with_backlog(description: str, backlog: int) -> str:
    """A twisted endpoint description that listens with `backlog`, unless it names a backlog itself.

    "tcp:port=8000:interface=127.0.0.1" becomes "tcp:port=8000:interface=127.0.0.1:backlog=4096";
    inherited sockets ("fd:...") keep the backlog of whoever opened them.
    """
    kind, _, options = description.partition(":")
    if kind not in LISTENING_ENDPOINTS or any(part.startswith("backlog=") for part in options.split(":")):
        return description
    return f"{description}:backlog={backlog}"


_daphne_run = Server.run


def _run_with_backlog(self) -> None:
    self.endpoints = [with_backlog(str(endpoint), settings.LISTEN_BACKLOG) for endpoint in self.endpoints]
    _daphne_run(self)


def install() -> None:
    """Give daphne's HTTP and WebSocket factories these limits, and its listening sockets the backlog. Idempotent.

    The classes are changed in place rather than replaced in `daphne.server`'s namespace:
    daphne's own test server imports that module afresh in its child process, which would undo the
    replacement, while the classes themselves (in `daphne.http_protocol` and `daphne.ws_protocol`) stay.
    """
    HTTPFactory.protocol = _limited_channel_protocol
    WebSocketFactory.setProtocolOptions = _limited_protocol_options
    Server.run = _run_with_backlog


def warm() -> None:
    """Import every urlconf (and build the API's schemas) now, not inside the first request or socket.

    Django loads the URL configuration on the first `reverse()`; under daphne that
    was the first chat message rendered, about 2 s of one process's time in the
    middle of a connect storm.
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 -- the property imports them
