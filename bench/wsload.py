"""The WebSocket load generator of `bench/chat.py`, run as its own process (asyncio, one thread).

    python bench/wsload.py PLAN.json

PLAN.json: {"port", "clients": [{"session", "conversations": [ids]}], "members": {conversation id: count},
"rates", "seconds", "echo_seconds", "drain_seconds", "seed"}. It opens one /ws/ socket and one
/ws/echo/ socket per client, then runs: echo, the chat steps at rising rates, echo again.
Each result is printed as one JSON line on stdout as soon as it is known; chat.py formats them.

Chat: a sender task sends `rate` chat.send frames per second, open loop (on schedule, whether or not
the server keeps up), each from the next client of a shuffled round robin (so every client sends at
rate / clients) into a random one of its conversations. The content carries the step, a sequence
number and the monotonic send time in nanoseconds; every member's socket (the sender's too) parses
them back out of the "chat.message" frame's HTML, so a delivery's latency is from the moment the
frame was handed to the socket to the moment the receiver decoded it. After each step the generator
waits (at most `drain_seconds`) for every expected delivery and acknowledgement; what is still
missing then is reported as missing (a later arrival still counts in the run's total).

Echo: every echo socket sends a frame, waits for it to come back, and sends the next (closed loop,
one frame in flight per socket), for `echo_seconds` after a one-second warm-up.

Storm (plan "storm": true): the chat sockets are opened all at once, as browsers do after a restart,
each retrying a refused or timed-out handshake with the back-off of static/js/nexus.js (0.5 s doubling
to 10 s, times 0.6-1.0). After the chat steps every chat socket is dropped and all reconnect at once
the same way (the first retry of nexus.js: 0.3-0.5 s after the close), and the steps run again among
the reconnected sockets. The baseline is the same storm of bare echo sockets, opened at the end.

Only ever connects to 127.0.0.1.
"""

import asyncio
import contextlib
import json
import random
import re
import sys
import time

from websockets.asyncio.client import connect

MARK = re.compile(r"bench-(\d+)-(\d+)-(\d+)")
CONNECT_CONCURRENCY = 20
WARM_UP_STEP = 999
AFTER_STORM = 100  # step numbers after the reconnect storm start here
STORM_LIMIT_SECONDS = 300
# Presence changes go out coalesced every 1.5 s (chat.presence.FLUSH_SECONDS): quiet means longer than that.
QUIET_SECONDS = 2.5


def _emit(**record) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * p))]


class Step:
    """What one rate step sent and what came back, keyed by sequence number."""

    def __init__(self, index: int, rate: float):
        self.index, self.rate = index, rate
        self.sent = 0
        self.expected = 0
        self.delivered = 0
        self.acked = 0
        self.errors = 0
        self.error_samples: list[str] = []
        self.latencies: list[float] = []  # ms
        self.ack_latencies: list[float] = []  # ms
        self.window_deliveries = 0  # deliveries (of any step) that arrived during this step's sending window
        self.send_times: dict[int, int] = {}
        self.finished_sending = False
        self.done = asyncio.Event()

    def check_done(self) -> None:
        if self.finished_sending and self.delivered >= self.expected and self.acked + self.errors >= self.sent:
            self.done.set()


class Run:
    def __init__(self, plan: dict):
        self.plan = plan
        self.port = plan["port"]
        self.members = {int(pk): count for pk, count in plan["members"].items()}
        self.steps: dict[int, Step] = {}
        self.current_window: Step | None = None
        self.chat_sockets = []
        self.echo_sockets = []
        self.other_frames = 0
        self.last_frame_at = time.monotonic()
        self.stray = 0

    def _headers(self, session: str) -> dict:
        return {"Cookie": f"sessionid={session}"}

    def _connect(self, path: str, session: str):
        return connect(
            f"ws://127.0.0.1:{self.port}{path}",
            origin=f"http://127.0.0.1:{self.port}",
            additional_headers=self._headers(session),
            compression=None,
            ping_interval=None,
            max_size=None,
            max_queue=None,
            open_timeout=60,
            close_timeout=5,
            user_agent_header=None,
        )

    async def open_all(self) -> float:
        began = time.perf_counter()
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def open_chat(client):
            async with gate:
                socket = await self._connect("/ws/", client["session"])
                hello = json.loads(await socket.recv())
                if hello.get("type") != "hello":
                    raise RuntimeError(f"expected a hello frame, got {hello!r}")
                return socket

        async def open_echo(client):
            async with gate:
                return await self._connect(self.plan.get("echo_path", "/ws/echo/"), client["session"])

        clients = self.plan["clients"]
        self.chat_sockets = await asyncio.gather(*(open_chat(client) for client in clients))
        self.echo_sockets = await asyncio.gather(*(open_echo(client) for client in clients))
        return time.perf_counter() - began

    async def storm(self, path: str, rng: random.Random, *, after_close: bool) -> tuple[list, dict]:
        """Open one socket per client all at once, each retrying as nexus.js does; the sockets and the figures.

        `after_close`: the sockets were just dropped, so each first waits the client's first back-off.
        """
        began = time.perf_counter()
        failures: dict[str, int] = {}
        connected_at: list[float] = []
        chat = path == "/ws/"

        async def one(client):
            retries = 0
            if after_close:
                await asyncio.sleep(0.5 * (0.6 + rng.random() * 0.4))
            while True:
                try:
                    socket = await self._connect(path, client["session"])
                    if chat:
                        hello = json.loads(await socket.recv())
                        if hello.get("type") != "hello":
                            raise RuntimeError(f"expected a hello frame, got {hello!r}")
                    connected_at.append(time.perf_counter() - began)
                    return socket
                except Exception as error:
                    name = type(error).__name__
                    failures[name] = failures.get(name, 0) + 1
                    if time.perf_counter() - began > STORM_LIMIT_SECONDS:
                        raise
                    await asyncio.sleep(min(10.0, 0.5 * 2**retries) * (0.6 + rng.random() * 0.4))
                    retries += 1

        sockets = await asyncio.gather(*(one(client) for client in self.plan["clients"]))
        connected_at.sort()
        return sockets, {
            "sockets": len(sockets),
            "seconds": time.perf_counter() - began,
            "p50_s": _percentile(connected_at, 0.5),
            "p99_s": _percentile(connected_at, 0.99),
            "failed_attempts": sum(failures.values()),
            "failures": failures,
        }

    # Chat

    async def read_chat(self, socket) -> None:
        loads, now = json.loads, time.monotonic_ns
        try:
            async for text in socket:
                arrived = now()
                self.last_frame_at = arrived / 1e9
                frame = loads(text)
                kind = frame.get("type")
                if kind == "chat.message":
                    found = MARK.search(frame.get("html", ""))
                    if found is None:
                        self.stray += 1
                        continue
                    step = self.steps.get(int(found[1]))
                    if step is None:
                        self.stray += 1
                        continue
                    step.delivered += 1
                    step.latencies.append((arrived - int(found[3])) / 1e6)
                    if self.current_window is not None:
                        self.current_window.window_deliveries += 1
                    step.check_done()
                elif kind == "chat.sent":
                    step_index, seq = frame["client_id"]
                    step = self.steps[step_index]
                    step.acked += 1
                    step.ack_latencies.append((arrived - step.send_times.pop(seq)) / 1e6)
                    step.check_done()
                elif kind == "error":
                    client_id = frame.get("client_id")
                    if isinstance(client_id, list) and client_id[0] in self.steps:
                        step = self.steps[client_id[0]]
                        step.errors += 1
                        step.send_times.pop(client_id[1], None)
                        if len(step.error_samples) < 3:
                            step.error_samples.append(frame.get("error", "")[:120])
                        step.check_done()
                    else:
                        self.stray += 1
                else:
                    self.other_frames += 1  # presence and the like
        except Exception as error:
            _emit(event="socket_error", error=repr(error)[:200])

    async def chat_step(self, index: int, rate: float, seconds: float, rng: random.Random) -> dict:
        step = self.steps[index] = Step(index, rate)
        sockets = list(enumerate(self.chat_sockets))
        conversations = [client["conversations"] for client in self.plan["clients"]]
        count = max(1, round(rate * seconds))
        loop = asyncio.get_running_loop()
        order: list = []
        cpu_began = time.process_time()
        self.current_window = step
        began = loop.time()
        for seq in range(count):
            delay = began + seq / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if not order:
                order = sockets[:]
                rng.shuffle(order)
            number, socket = order.pop()
            conversation = rng.choice(conversations[number])
            sent_at = time.monotonic_ns()
            step.send_times[seq] = sent_at
            step.sent += 1
            step.expected += self.members[conversation]
            await socket.send(
                json.dumps(
                    {
                        "type": "chat.send",
                        "conversation": conversation,
                        "content": f"Load test bench-{index}-{seq}-{sent_at} ok",
                        "client_id": [index, seq],
                    }
                )
            )
        sending = loop.time() - began
        step.finished_sending = True
        # The window is the step's nominal length (or the time sending took, when the client fell behind).
        await asyncio.sleep(max(0.0, seconds - sending))
        window = loop.time() - began
        self.current_window = None
        window_deliveries = step.window_deliveries
        step.check_done()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(step.done.wait(), self.plan["drain_seconds"])
        cpu = time.process_time() - cpu_began
        total = loop.time() - began
        step.latencies.sort()
        step.ack_latencies.sort()
        return {
            "event": "step",
            "step": index,
            "rate": rate,
            "sent": step.sent,
            "sent_per_s": step.sent / sending if sending > 0 else float("nan"),
            "window_s": window,
            "delivered_in_window_per_s": window_deliveries / window,
            "expected": step.expected,
            "delivered": step.delivered,
            "missing": step.expected - step.delivered,
            "acked": step.acked,
            "errors": step.errors,
            "error_samples": step.error_samples,
            "p50_ms": _percentile(step.latencies, 0.50),
            "p99_ms": _percentile(step.latencies, 0.99),
            "max_ms": step.latencies[-1] if step.latencies else float("nan"),
            "ack_p50_ms": _percentile(step.ack_latencies, 0.50),
            "ack_p99_ms": _percentile(step.ack_latencies, 0.99),
            "client_cpu": cpu / total,
            "drain_s": total - window,
        }

    # Echo

    async def echo(self, seconds: float, label: str) -> dict:
        latencies: list[float] = []
        counting = [False]
        stop = [False]

        depth = self.plan.get("echo_depth", 1)
        padding = "x" * 40

        async def pump(socket):
            mine = []
            now = time.monotonic_ns
            for _ in range(depth):
                await socket.send(f"{now()} {padding}")
            while not stop[0]:
                echoed = await socket.recv()
                arrived = now()
                if counting[0]:
                    mine.append((arrived - int(echoed.split(" ", 1)[0])) / 1e6)
                await socket.send(f"{arrived} {padding}")
            for _ in range(depth):
                await socket.recv()
            latencies.extend(mine)

        tasks = [asyncio.create_task(pump(socket)) for socket in self.echo_sockets]
        await asyncio.sleep(1.0)  # warm-up
        counting[0] = True
        cpu_began, began = time.process_time(), time.perf_counter()
        _emit(event="echo_start", label=label)
        await asyncio.sleep(seconds)
        counting[0] = False
        elapsed = time.perf_counter() - began
        cpu = time.process_time() - cpu_began
        stop[0] = True
        await asyncio.gather(*tasks)
        latencies.sort()
        return {
            "event": "echo",
            "label": label,
            "echoes": len(latencies),
            "per_s": len(latencies) / elapsed,
            "p50_ms": _percentile(latencies, 0.50),
            "p99_ms": _percentile(latencies, 0.99),
            "client_cpu": cpu / elapsed,
        }

    async def settle(self) -> None:
        """Wait until the chat sockets have been quiet for QUIET_SECONDS (the presence frames of the connects)."""
        self.last_frame_at = time.monotonic()
        began, frames = time.monotonic(), self.other_frames
        while time.monotonic() - self.last_frame_at < QUIET_SECONDS and time.monotonic() - began < 120:
            await asyncio.sleep(0.25)
        _emit(event="settled", seconds=time.monotonic() - began, frames=self.other_frames - frames)

    async def run_steps(self, rng: random.Random, first: int = 0) -> None:
        plan = self.plan
        for index, rate in enumerate(plan["rates"], start=first):
            _emit(event="step_start", step=index, rate=rate)
            result = await self.chat_step(index, rate, plan["seconds"], rng)
            _emit(**result)
            if result["missing"] > 0.5 * result["expected"]:
                # Far past saturation: faster steps would only pile more onto the backlog.
                _emit(event="stopped", step=index, rate=rate, skipped=plan["rates"][index - first + 1 :])
                break
            await asyncio.sleep(0.5)

    async def storm_main(self) -> None:
        """Connect storm, steps, drop-and-reconnect storm, steps again, then the echo sockets' storm."""
        plan = self.plan
        rng = random.Random(plan.get("seed", 1))
        self.chat_sockets, figures = await self.storm("/ws/", rng, after_close=False)
        _emit(event="storm", label="connect", **figures)
        readers = [asyncio.create_task(self.read_chat(socket)) for socket in self.chat_sockets]
        await self.settle()
        warm = await self.chat_step(WARM_UP_STEP, len(self.members), 1.0, rng)
        _emit(event="warmed_up", sent=warm["sent"], delivered=warm["delivered"], seconds=warm["window_s"])
        await self.run_steps(rng)
        await asyncio.gather(*(socket.close() for socket in self.chat_sockets))
        for reader in readers:
            reader.cancel()
        self.chat_sockets, figures = await self.storm("/ws/", rng, after_close=True)
        _emit(event="storm", label="reconnect", **figures)
        readers = [asyncio.create_task(self.read_chat(socket)) for socket in self.chat_sockets]
        await self.settle()
        await self.run_steps(rng, first=AFTER_STORM)
        await self.catch_up()
        self.echo_sockets, figures = await self.storm(plan.get("echo_path", "/ws/echo/"), rng, after_close=False)
        _emit(event="storm", label="echo (baseline)", **figures)
        _emit(**self._totals())
        await asyncio.gather(*(socket.close() for socket in [*self.chat_sockets, *self.echo_sockets]))
        for reader in readers:
            reader.cancel()

    async def catch_up(self) -> None:
        """Wait until every send was answered (acknowledged or refused), for the persistence check."""
        began = time.monotonic()
        while time.monotonic() - began < self.plan.get("catch_up_seconds", 60):
            if all(step.acked + step.errors >= step.sent for step in self.steps.values()):
                break
            await asyncio.sleep(0.25)
        unanswered = sum(step.sent - step.acked - step.errors for step in self.steps.values())
        _emit(event="caught_up", seconds=time.monotonic() - began, unanswered=unanswered)

    def _totals(self) -> dict:
        return {
            "event": "done",
            "expected": sum(step.expected for step in self.steps.values()),
            "delivered": sum(step.delivered for step in self.steps.values()),
            "acked": sum(step.acked for step in self.steps.values()),
            "sent": sum(step.sent for step in self.steps.values()),
            "other_frames": self.other_frames,
            "stray": self.stray,
        }

    async def main(self) -> None:
        plan = self.plan
        if plan.get("storm"):
            await self.storm_main()
            return
        rng = random.Random(plan.get("seed", 1))
        opened = await self.open_all()
        _emit(event="connected", sockets=len(self.chat_sockets) + len(self.echo_sockets), seconds=opened)
        readers = [asyncio.create_task(self.read_chat(socket)) for socket in self.chat_sockets]
        await self.settle()
        # Warm-up, not reported as a step: the first message of a process loads templates and the URLconf.
        warm = await self.chat_step(WARM_UP_STEP, len(self.members), 1.0, rng)
        _emit(
            event="warmed_up",
            sent=warm["sent"],
            delivered=warm["delivered"],
            seconds=warm["window_s"] + warm["drain_s"],
        )
        _emit(**await self.echo(plan["echo_seconds"], "before"))
        await self.run_steps(rng)
        # Every send answered (acknowledged or refused) before the echo and the persistence check.
        await self.catch_up()
        while time.monotonic() - self.last_frame_at < 1.0:
            await asyncio.sleep(0.25)
        _emit(**await self.echo(plan["echo_seconds"], "after"))
        _emit(**self._totals())
        for socket in [*self.chat_sockets, *self.echo_sockets]:
            await socket.close()
        for reader in readers:
            reader.cancel()


def main() -> None:
    with open(sys.argv[1]) as file:
        plan = json.load(file)
    asyncio.run(Run(plan).main())


if __name__ == "__main__":
    main()
