"""Parallel discrete-event driver: one simulation's nodes spread over processes.

Whatever one node does to another -- a frame, a link opening or closing, a handshake step
-- takes at least the links' lowest latency, so the processes can run windows of that
length side by side (conservative synchronisation with that latency as lookahead): each
process runs its own nodes through the window, then the effects on other processes' nodes
are handed over and the next window starts.  A node lives in partition ``DID mod
workers``, so every process knows where any node lives; partition 0 is the caller's own,
the others are worker processes (spawned: they inherit nothing of the caller's state).

The same seed and worker count give the same run (a different count, a different run).
CPython tooling.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import random
import time
import traceback
from typing import Any, Callable

from ..crypto import default_backend
from ..did import Did
from ..engine.config import Config
from ..engine.core import Engine
from ..errors import InvalidArgument
from ..session.signers import LocalKeySigner
from ..wire.codec import DID
from ..wire.types import SESSION
from .simulator import _RECEIVE, START_MS, Simulator, _Endpoint

__all__ = ["ParallelSimulator", "Partition"]


class Partition(Simulator):
    """The nodes of one process; effects on other partitions' nodes wait in :attr:`outbox`."""

    def __init__(self, index: int, workers: int, seed: int, latency_ms: tuple[int, int], config: Config,
                 insecure_fast: bool) -> None:
        super().__init__(seed=f"{seed}/{index}", latency_ms=latency_ms, config=config, insecure_fast=insecure_fast)
        self.index, self.workers = index, workers
        # the codec's memos are sized for one node's peers; a partition sees every node's
        # session and DID, and the lookups' targets (7 % of a 10 000-node run without this)
        SESSION.remember(1 << 15)
        DID.remember(1 << 18)
        self.window = latency_ms[0]
        self.collecting = False
        self.finished: list[tuple[int, Any]] = []  # (node, event) of requests finished while collecting
        self.applied: list[int] = []  # offerers that applied their answer
        self.on_event = self._keep
        self._cpu_start = time.process_time()
        self.idle = 0.0  # CPU seconds this process spent polling for the others (not work)
        self._kinds: dict[str, Callable] = {"open": self._remote_open, "closed": self._remote_closed,
                                            "answer": self._answer, "accept": self._accept}

    def place(self, did: int) -> int:
        return int(did) % self.workers

    # -- one command of the coordinator ---------------------------------------------------------
    def handle(self, cmd: str, args: tuple, inbox: list) -> tuple:
        """Take the effects other partitions had on ours, run ``cmd``, and return its
        result with our effects on others, what finished meanwhile, the frames we sent and
        our process's CPU seconds so far (polling for the others left out)."""
        self._deliver(inbox)
        result = getattr(self, "cmd_" + cmd)(*args)
        out, finished, applied = self.outbox, self.finished, self.applied
        self.outbox, self.finished, self.applied = {}, [], []
        return result, out, finished, applied, self.frames_sent, time.process_time() - self._cpu_start - self.idle

    def cmd_run(self, end: int) -> None:
        self._run(end, None)

    def cmd_add(self, secret: bytes, did: Did, node_seed: int) -> None:
        node = self.add_node(self.make_session(secret, did), node_seed=node_seed)
        if node.me != did:  # pragma: no cover - the coordinator derives the same address
            raise RuntimeError(f"node {node.me.hex()} placed as {did.hex()}")

    def cmd_offer(self, a: Did, b: Did) -> None:
        """Start a manual handshake from ``a`` to ``b`` (the steps cross partitions)."""
        node = self.nodes[a]
        rid = self.call(node, lambda n: n.create_offer(self.now))
        self._when_done(node, rid, lambda offer: self._toward(b, "answer", (offer, a)))

    def cmd_call(self, did: Did, method: str, args: tuple) -> Any:
        return self.call(self.nodes[did], lambda n: getattr(n, method)(*args, self.now))

    def cmd_fail(self, did: Did) -> None:
        self.fail(did)

    def cmd_collect(self, on: bool) -> None:
        self.collecting = on

    def cmd_gather(self, fn: Callable, args: tuple) -> Any:
        return fn(list(self.nodes.values()), *args)

    # -- effects crossing partitions ------------------------------------------------------------
    def _deliver(self, inbox: list) -> None:
        for t, did, kind, args in inbox:
            if kind == "frames":
                tid, frames = args
                self._bucket(t).extend((did, _RECEIVE, (tid, frame)) for frame in frames)
            elif did in self.nodes:
                self._schedule(t, (did, self._kinds[kind], args))
            elif kind == "open":  # the answerer failed meanwhile: the offerer's end closes
                _, peer, peer_tid, src = args
                self._away(src, (t + self._latency(), peer, "closed", (peer_tid,)))

    def _toward(self, did: Did, kind: str, args: tuple) -> None:
        """A handshake step for node ``did``: now if it is ours, after one window if not."""
        part = self.place(did)
        if part == self.index:
            self._at(0, did, self._kinds[kind], *args)
        else:
            self._away(part, (self.now + self.window, int(did), kind, args))

    def _answer(self, node: Engine, offer: Any, offerer: Did, now: int) -> None:
        rid = node.answer_offer(offer, now)
        self._when_done(node, rid, lambda answer: self._toward(offerer, "accept", (answer,)))

    def _accept(self, node: Engine, answer: Any, now: int) -> None:
        node.accept_answer(answer, now)
        self.applied.append(int(node.me))

    def _open_link(self, me: Did, transport_id: str, far: _Endpoint) -> None:
        part = self.place(far.node)
        if part == self.index:
            return super()._open_link(me, transport_id, far)
        self._links[me][transport_id] = _Endpoint(int(far.node), far.transport_id, part)  # an int pickles fast
        delay = self._latency()
        self._at(delay, me, Engine.transport_open, transport_id)
        self._away(part, (self.now + delay, int(far.node), "open", (far.transport_id, int(me), transport_id, self.index)))

    def _remote_open(self, node: Engine, tid: str, peer: int, peer_tid: str, src: int, now: int) -> None:
        if tid not in node.transport_ids:  # closed before the link opened: so does the far end
            self._away(src, (now + self._latency(), peer, "closed", (peer_tid,)))
            return
        self._links[node.me][tid] = _Endpoint(peer, peer_tid, src)
        node.transport_open(tid, now)

    def _remote_closed(self, node: Engine, tid: str, now: int) -> None:
        self._links[node.me].pop(tid, None)
        node.transport_closed(tid, now)

    def _keep(self, did: Did, event: Any) -> None:
        if self.collecting and hasattr(event, "request_id"):
            self.finished.append((int(did), event))


def _spins(workers: int) -> bool:
    """Whether every process has a core of its own (then waiting spins, see :func:`_receive`)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return workers <= cores


def _receive(conn, spin: bool) -> tuple[Any, float]:
    """``conn.recv()`` and the CPU seconds spent polling for it: with ``spin``, the process
    polls until the message is there instead of sleeping (CPU time, not wall: a process
    preempted while it polls has not spent that time).

    The processes meet every window, often; a core that sleeps at each meeting (on a virtual
    machine: halts) comes back to cold caches, and every frame after costs more (measured:
    1 000 nodes on two processes took 20 s beside 21 s on one when sleeping, 17 s spinning).
    """
    if not spin:
        return conn.recv(), 0.0
    start = time.process_time()
    while not conn.poll():
        pass
    return conn.recv(), time.process_time() - start


class _Crashed(tuple):
    """A worker's reply when a command raised: the traceback's text."""


def _serve(conn, index: int, *args) -> None:
    part = Partition(index, *args)
    gc.set_threshold(100_000, 50, 100)  # millions of small objects, few in cycles (see rings_web.sim)
    spin = _spins(part.workers)
    try:
        while True:
            (cmd, args, inbox), spun = _receive(conn, spin)
            part.idle += spun
            if cmd == "stop":
                return
            try:
                reply = part.handle(cmd, args, inbox)
            except Exception:
                conn.send(_Crashed((traceback.format_exc(),)))
                return
            conn.send(reply)
    except (EOFError, KeyboardInterrupt):
        return


class ParallelSimulator:
    """Runs nodes over ``workers`` partitions; the caller addresses nodes by DID.

    Args:
        seed: seeds the choices made here (identities) and each partition's own.
        latency_ms: ``(low, high)`` one-way delay; ``low`` (at least 1 ms) is the window.
        config: the nodes' configuration.
        insecure_fast: zero signatures and trusting verifiers (simulation only).
        workers: partitions, each a process but the first.
    """

    def __init__(self, seed: int = 0, latency_ms: tuple[int, int] = (5, 30), config: Config = Config(),
                 insecure_fast: bool = False, workers: int = 1) -> None:
        if workers < 1 or latency_ms[0] < 1:
            raise InvalidArgument("need workers >= 1 and a lowest latency of at least 1 ms")
        self.rng = random.Random(seed)
        self.now = START_MS
        self.workers, self.window = workers, latency_ms[0]
        self._spin = _spins(workers)
        self.insecure_fast = insecure_fast
        self.finished: dict[tuple[int, int], Any] = {}  # (node, request id) -> its RequestDone/RequestFailed
        self.applied: set[int] = set()
        self._crypto = None if insecure_fast else default_backend()
        args = (workers, seed, latency_ms, config, insecure_fast)
        self._local = Partition(0, *args)
        self._frames = [0] * workers
        self._cpu = [0.0] * workers
        self._inbox: list[list] = [[] for _ in range(workers)]
        self._conns, self._procs = [], []
        ctx = multiprocessing.get_context("spawn")
        for index in range(1, workers):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(theirs, index, *args), daemon=True)
            proc.start()
            theirs.close()
            self._conns.append(mine)
            self._procs.append(proc)

    @property
    def frames_sent(self) -> int:
        return sum(self._frames)

    @property
    def cpu_s(self) -> float:
        """CPU seconds the partitions' processes have worked (the caller's with its own work;
        polling for each other left out)."""
        return sum(self._cpu)

    def close(self) -> None:
        for conn in self._conns:
            try:
                conn.send(("stop", (), []))
            except OSError:  # the worker has gone (it failed)
                pass
        for proc in self._procs:
            proc.join(10)
            if proc.is_alive():  # stuck (e.g. sending a reply nobody reads after a failure)
                proc.terminate()
        for conn in self._conns:
            conn.close()
        self._conns, self._procs = [], []

    def __enter__(self) -> "ParallelSimulator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- nodes ----------------------------------------------------------------------------------
    def add_node(self) -> Did:
        secret = self.rng.randbytes(32)
        if self.insecure_fast:
            did = Did(int.from_bytes(self.rng.randbytes(20), "big"))
        else:
            did = LocalKeySigner(secret, crypto=self._crypto).address
        self._ask(self._local.place(did), "add", secret, did, self.rng.getrandbits(64))
        return did

    def link(self, a: Did, b: Did, wait: bool = True) -> None:
        """A manual handshake from ``a`` to ``b``; with ``wait``, run until ``a`` applied the answer."""
        self._ask(self._local.place(a), "offer", a, b)
        if wait:
            self.run_until(lambda: int(a) in self.applied, max_ms=60_000)

    def call(self, did: Did, method: str, *args) -> Any:
        """``node.<method>(*args, now)`` on node ``did`` (e.g. ``lookup``, ``store``, ``fetch``)."""
        return self._ask(self._local.place(did), "call", did, method, args)

    def fail(self, did: Did) -> None:
        self._ask(self._local.place(did), "fail", did)

    def collect(self, on: bool) -> None:
        """Keep the requests that finish from now on in :attr:`finished` (or stop)."""
        self._all("collect", on)

    def gather(self, fn: Callable, *args) -> list:
        """``fn(nodes, *args)`` in every partition (``fn`` importable by name), one result each."""
        return self._all("gather", fn, args)

    # -- time -----------------------------------------------------------------------------------
    def run_for(self, ms: int) -> None:
        self._advance(self.now + ms, None)

    def run_until(self, done: Callable[[], bool], max_ms: int = 600_000) -> bool:
        """Advance until ``done()`` holds (checked after every window) or ``max_ms`` pass."""
        return self._advance(self.now + max_ms, done)

    def _advance(self, end: int, done: Callable[[], bool] | None) -> bool:
        while self.now < end:
            if done is not None and done():
                return True
            step = min(end, self.now + self.window)
            self._all("run", step)
            self.now = step
        return done() if done is not None else True

    # -- commands -------------------------------------------------------------------------------
    def _ask(self, part: int, cmd: str, *args) -> Any:
        inbox, self._inbox[part] = self._inbox[part], []
        if part == 0:
            reply = self._local.handle(cmd, args, inbox)
        else:
            conn = self._conns[part - 1]
            conn.send((cmd, args, inbox))
            reply = self._reply(conn)
        return self._take(part, reply)

    def _all(self, cmd: str, *args) -> list:
        """``cmd`` in every partition at once: the workers start first, ours runs meanwhile."""
        for part, conn in enumerate(self._conns, 1):
            inbox, self._inbox[part] = self._inbox[part], []
            conn.send((cmd, args, inbox))
        inbox, self._inbox[0] = self._inbox[0], []
        results = [self._take(0, self._local.handle(cmd, args, inbox))]
        results += [self._take(part, self._reply(conn)) for part, conn in enumerate(self._conns, 1)]
        return results

    def _reply(self, conn) -> tuple:
        """A worker's reply; the time spent polling for it is not our partition's work."""
        reply, spun = _receive(conn, self._spin)
        self._local.idle += spun
        return reply

    def _take(self, part: int, reply: tuple) -> Any:
        if isinstance(reply, _Crashed):
            raise RuntimeError(f"simulator partition {part} failed:\n{reply[0]}")
        result, out, finished, applied, frames, cpu = reply
        for dest, effects in out.items():
            self._inbox[dest] += effects
        for did, event in finished:
            self.finished[(did, event.request_id)] = event
        self.applied.update(applied)
        self._frames[part], self._cpu[part] = frames, cpu
        return result
