"""Discrete-event driver: many engines over in-memory links, on a virtual clock.

Every payload is really encoded, chunked, decoded and (by default) signed and verified;
links deliver frames after a seeded random latency.  Handshakes are stand-ins: an offer is
a token naming its transport, and applying the answer joins the two ends.  The same seed
gives the same run.

For large networks ``insecure_fast=True`` replaces signatures with zeros and trusts every
payload (the codec still runs) -- never use it outside simulation.

A simulator may hold only some of a network's nodes, other simulators (processes, see
:mod:`.parallel`) the rest: ``place(did)`` names the simulator that holds a node, ``index``
is this one's.  What our nodes do to a node elsewhere waits in :attr:`Simulator.outbox` as
effects ``(at, node, kind, args)`` -- a link's "frames", "open" and "closed" -- and
:meth:`Simulator.apply` takes the effects the others had on ours.
"""

from __future__ import annotations

import gc
import heapq
import random
from collections import deque
from dataclasses import dataclass
from typing import Callable

from ..crypto import CryptoBackend, default_backend
from ..did import Did
from ..engine.config import Config
from ..engine.events import AcceptOffer, ApplyAnswer, CloseTransport, CreateOffer, Event, RequestDone, SendFrames
from ..engine.core import Engine
from ..errors import RelayError
from ..message.payload import Verifier
from ..session.auth import SessionKey, new_auth
from ..session.manager import SessionManager
from ..session.signers import LocalKeySigner
from ..wire.types import HandshakeInfo, MessagePayload, Session

__all__ = ["Simulator", "TrustingVerifier", "Endpoint", "START_MS"]

START_MS = 1_800_000_000_000


class TrustingVerifier(Verifier):
    """Accepts every payload (simulation with ``insecure_fast`` only)."""

    def verify(self, payload: MessagePayload, now: int) -> Did:
        if not payload.relay.path:
            raise RelayError("empty relay path")
        return payload.relay.path[0]


@dataclass(slots=True)
class Endpoint:
    """The far end of a link: its node and that node's transport id."""

    node: Did
    transport_id: str
    remote: int | None = None  # the simulator holding ``node`` when it is not this one


class Simulator:
    """Runs nodes and links; ``run_for``/``run_until_idle`` advance the virtual clock.

    Args:
        seed: seeds every random choice (keys, latencies, node ids' rngs).
        latency_ms: ``(low, high)`` one-way delay of a frame.
        config: the nodes' configuration.
        insecure_fast: zero signatures and trusting verifiers, for large N.
        place: names the simulator holding a node (nodes split over several); None: all here.
        index: this simulator's name among them.
    """

    def __init__(self, seed: int | str = 0, latency_ms: tuple[int, int] = (5, 30), config: Config = Config(),
                 insecure_fast: bool = False, crypto: CryptoBackend | None = None,
                 place: Callable[[int], int] | None = None, index: int = 0) -> None:
        self.rng = random.Random(seed)
        self.place, self.index = place, index
        self.now = START_MS
        self.latency_ms = latency_ms
        self.config = config
        self.insecure_fast = insecure_fast
        self.crypto = crypto or default_backend()
        self.nodes: dict[Did, Engine] = {}
        self.events: dict[Did, list[Event]] = {}
        self.on_event: Callable[[Did, Event], None] | None = None
        self.frames_sent = 0
        # the event queue: time -> its events, in the order they were scheduled, and a heap
        # of those times (a time may appear again after its events ran: it is skipped then)
        self._due: dict[int, deque] = {}
        self._times: list[int] = []
        self._links: dict[Did, dict[str, Endpoint]] = {}  # node -> its transport id -> far end
        self._timers: dict[Did, int] = {}
        self._then: dict[tuple[Did, int], Callable[[object], None]] = {}  # (node, request id) -> next step
        #: effects on nodes elsewhere: their simulator -> ``(at, node, kind, args)``, in order
        self.outbox: dict[int, list[tuple]] = {}

    # -- building -----------------------------------------------------------------------------
    def make_session(self, secret: bytes | None = None, did: Did | None = None) -> SessionManager:
        """A new identity: a wallet key (``secret``, else drawn from the rng) signing a
        session; in fast mode an arbitrary ``did`` (else drawn) with no key at all."""
        secret = self.rng.randbytes(32) if secret is None else secret
        if self.insecure_fast:  # an arbitrary identity: no key pair, no wallet signature
            did = Did(int.from_bytes(self.rng.randbytes(20), "big")) if did is None else did
            key = SessionKey(secret, bytes(64), did)
            auth = new_auth(did, key, self.now, ttl_ms=None)
            return SessionManager(key, Session(bytes(65), auth), self.crypto, insecure_unsigned=True)
        coro = SessionManager.create(LocalKeySigner(secret, crypto=self.crypto), crypto=self.crypto, now=self.now,
                                     random_bytes=self.rng.randbytes)
        try:
            coro.send(None)  # a local signer never suspends
        except StopIteration as done:
            return done.value
        raise RuntimeError("local signer suspended")  # pragma: no cover

    def add_node(self, session: SessionManager | None = None, node_seed: int | None = None) -> Engine:
        session = session or self.make_session()
        verifier = TrustingVerifier(self.crypto) if self.insecure_fast else None
        seed = self.rng.getrandbits(64) if node_seed is None else node_seed
        node = Engine(session, rng=random.Random(seed), config=self.config, verifier=verifier)
        self.nodes[node.me] = node
        self.events[node.me] = []
        self._links[node.me] = {}
        node.start(self.now)
        self._pump(node)
        return node

    def fail(self, did: Did, detect_ms: int = 1000) -> None:
        """The node vanishes; its peers notice their links closing after ``detect_ms``."""
        self.nodes.pop(did, None)
        self._timers.pop(did, None)
        for far in self._links.pop(did, {}).values():
            self._unlink(far, detect_ms)

    def link(self, a: Engine, b: Engine, wait: bool = True) -> None:
        """Connect two nodes directly, as a manual handshake would.

        With ``wait`` the clock runs until the offerer has applied the answer; without, the
        handshake only starts and its steps run as their results arrive.
        """
        applied = []

        def answered(answer) -> None:
            self.call(a, lambda n: n.accept_answer(answer, self.now))
            applied.append(True)

        def offered(offer) -> None:
            self.when_done(b, self.call(b, lambda n: n.answer_offer(offer, self.now)), answered)

        self.when_done(a, self.call(a, lambda n: n.create_offer(self.now)), offered)
        if wait:
            self.run_until(lambda: bool(applied), max_ms=60_000)

    def when_done(self, node: Engine, rid: int, then: Callable[[object], None]) -> None:
        """Call ``then(value)`` once request ``rid`` succeeds (a failed step ends the chain)."""
        done = next((e for e in self.events[node.me] if isinstance(e, RequestDone) and e.request_id == rid), None)
        if done is not None:
            then(done.value)
        elif self.result(node, rid) is None:
            self._then[(node.me, rid)] = then

    def result(self, node: Engine, rid: int):
        """The value of request ``rid`` of ``node`` once done (its failure event if it
        failed), or None while it runs."""
        for e in self.events[node.me]:
            if getattr(e, "request_id", None) == rid:
                return getattr(e, "value", e)
        return None

    # -- running --------------------------------------------------------------------------------
    def call(self, node: Engine, fn: Callable[[Engine], object]):
        """Call into a node now (an API call) and let it act."""
        result = fn(node)
        self._pump(node)
        return result

    def run_for(self, ms: int) -> None:
        self._run(self.now + ms, None)

    def run_to(self, end: int) -> None:
        """Advance to virtual time ``end``."""
        self._run(end, None)

    def run_until(self, done: Callable[[], bool], max_ms: int = 600_000) -> bool:
        """Advance until ``done()`` holds (checked after every step) or ``max_ms`` pass."""
        return self._run(self.now + max_ms, done)

    def run_until_idle(self, max_ms: int = 600_000) -> None:
        """Advance until only timers remain (no frame or handshake in flight)."""
        self._run(self.now + max_ms, lambda: all(method is None for due in self._due.values() for _, method, _ in due))

    def _run(self, end: int, done: Callable[[], bool] | None) -> bool:
        times, due_at, nodes, timers, pump = self._times, self._due, self.nodes, self._timers, self._pump
        # the run allocates millions of small objects, few of them in cycles: collect rarely
        thresholds = gc.get_threshold()
        gc.set_threshold(100_000, 50, 100)
        try:
            while times and times[0] <= end:
                t = times[0]
                due = due_at.get(t)
                if due is None:  # ran already
                    heapq.heappop(times)
                    continue
                popleft = due.popleft
                while due:  # events scheduled for t meanwhile join the end
                    if done is not None and done():
                        return True
                    if t > self.now:
                        self.now = t
                    did, method, args = popleft()
                    node = nodes.get(did)
                    if node is None:
                        continue
                    if method is None:  # the node's timer
                        if timers.get(did) != t:
                            continue  # superseded
                        del timers[did]
                        node.handle_timer(self.now)
                    else:
                        method(node, *args, self.now)
                    pump(node)
                del due_at[t]
        finally:
            gc.set_threshold(*thresholds)
        self.now = max(self.now, end) if done is None else self.now
        return done() if done is not None else True

    def _at(self, delay: int, did: Did, method: Callable, *args) -> None:
        """At ``now + delay``, call ``method(node, *args, now)`` on node ``did``."""
        self._schedule(self.now + delay, (did, method, args))

    def at(self, t: int, did: Did, method: Callable, *args) -> None:
        """At virtual time ``t`` (not before now), call ``method(node, *args, now)`` on node
        ``did`` if it still runs, then let the node act."""
        self._schedule(t, (did, method, args))

    def _schedule(self, t: int, event: tuple) -> None:
        self._bucket(t).append(event)

    def _bucket(self, t: int) -> deque:
        """The events due at ``t``, to append to."""
        due = self._due.get(t)
        if due is None:
            due = self._due[t] = deque()
            heapq.heappush(self._times, t)
        return due

    def _latency(self) -> int:
        low, high = self.latency_ms
        return low + int(self.rng.random() * (high - low + 1))

    # -- performing actions ---------------------------------------------------------------------
    def _pump(self, node: Engine) -> None:
        me = node.me
        actions = node.actions_to_perform()
        if actions:
            self._perform(me, actions)
        event = node.next_event()
        while event is not None:
            self._happened(me, event)
            event = node.next_event()
        timer = node.get_timer()
        if timer is not None:
            current = self._timers.get(me)
            if current is None or timer < current:
                self._timers[me] = timer
                self._schedule(timer, (me, None, ()))

    def _perform(self, me: Did, actions: list) -> None:
        links = self._links[me]
        low, high = self.latency_ms
        for action in actions:
            if type(action) is SendFrames:  # the hot path: _latency() and _at() inlined
                far = links.get(action.transport_id)
                if far is None:
                    continue
                at = self.now + low + int(self.rng.random() * (high - low + 1))
                frames = action.frames
                self.frames_sent += len(frames)
                if far.remote is not None:
                    self._away(far.remote, (at, far.node, "frames", (far.transport_id, frames)))
                elif len(frames) == 1:
                    self._bucket(at).append((far.node, _RECEIVE, (far.transport_id, frames[0])))
                else:
                    self._bucket(at).extend((far.node, _RECEIVE, (far.transport_id, frame)) for frame in frames)
            elif isinstance(action, CreateOffer):
                self._at(1, me, Engine.offer_ready, action.transport_id, _token(me, action.transport_id, "offer"))
            elif isinstance(action, AcceptOffer):
                self._at(1, me, Engine.answer_ready, action.transport_id, _token(me, action.transport_id, "answer"))
            elif isinstance(action, ApplyAnswer):
                far = _parse_token(action.answer)
                if far is not None:
                    self._open_link(me, action.transport_id, far)
            elif isinstance(action, CloseTransport):
                far = links.pop(action.transport_id, None)
                if far is not None:
                    self._unlink(far, self._latency())

    def _happened(self, me: Did, event: Event) -> None:
        self.events[me].append(event)
        if self.on_event is not None:
            self.on_event(me, event)
        then = self._then.pop((me, getattr(event, "request_id", None)), None)
        if then is not None and isinstance(event, RequestDone):
            self._at(0, me, _continue, then, event.value)

    def _open_link(self, me: Did, transport_id: str, far: Endpoint) -> None:
        """``me`` applied the answer of ``far``: both ends open after one latency."""
        part = self.index if self.place is None else self.place(far.node)
        if part != self.index:
            self._links[me][transport_id] = Endpoint(int(far.node), far.transport_id, part)  # an int pickles fast
            delay = self._latency()
            self._at(delay, me, Engine.transport_open, transport_id)
            self._away(part, (self.now + delay, int(far.node), "open", (far.transport_id, int(me), transport_id, self.index)))
            return
        if far.node not in self.nodes:
            return
        self._links[me][transport_id] = far
        self._links[far.node][far.transport_id] = Endpoint(me, transport_id)
        delay = self._latency()
        self._at(delay, me, Engine.transport_open, transport_id)
        self._at(delay, far.node, Engine.transport_open, far.transport_id)

    def _away(self, partition: int, effect: tuple) -> None:
        """An effect on a node another simulator holds."""
        self.outbox.setdefault(partition, []).append(effect)

    # -- effects from nodes elsewhere -----------------------------------------------------------
    def apply(self, effects: list[tuple], steps: dict[str, Callable] | None = None) -> None:
        """Schedule the effects ``(at, node, kind, args)`` other simulators' nodes had on
        ours, in order: a link's "frames", "open" and "closed", and any other ``kind`` as
        ``steps[kind](node, *args, now)`` (a node that has failed meanwhile misses them)."""
        for t, did, kind, args in effects:
            if kind == "frames":
                tid, frames = args
                self._bucket(t).extend((did, _RECEIVE, (tid, frame)) for frame in frames)
            elif did in self.nodes:
                method = self._remote_open if kind == "open" else self._remote_closed if kind == "closed" else steps[kind]
                self._schedule(t, (did, method, args))
            elif kind == "open":  # the answerer failed meanwhile: the offerer's end closes
                _, peer, peer_tid, src = args
                self._away(src, (t + self._latency(), peer, "closed", (peer_tid,)))

    def _remote_open(self, node: Engine, tid: str, peer: int, peer_tid: str, src: int, now: int) -> None:
        if tid not in node.transport_ids:  # closed before the link opened: so does the far end
            self._away(src, (now + self._latency(), peer, "closed", (peer_tid,)))
            return
        self._links[node.me][tid] = Endpoint(peer, peer_tid, src)
        node.transport_open(tid, now)

    def _remote_closed(self, node: Engine, tid: str, now: int) -> None:
        self._links[node.me].pop(tid, None)
        node.transport_closed(tid, now)

    def _unlink(self, far: Endpoint, delay: int) -> None:
        """Our end of a link is gone: the far end notices after ``delay``."""
        if far.remote is not None:
            self._away(far.remote, (self.now + delay, far.node, "closed", (far.transport_id,)))
            return
        self._links.get(far.node, {}).pop(far.transport_id, None)
        self._at(delay, far.node, Engine.transport_closed, far.transport_id)


_RECEIVE = Engine.receive


def _continue(node: Engine, then: Callable[[object], None], value: object, now: int) -> None:
    then(value)


def _token(node: Did, transport_id: str, kind: str) -> HandshakeInfo:
    """An SDP-like JSON text naming the end: ``{"sdp": "memory:<node>:<transport>", "type": kind}``."""
    return HandshakeInfo(f'{{"sdp": "memory:{node.hex()}:{transport_id}", "type": "{kind}"}}')


def _parse_token(info: HandshakeInfo) -> Endpoint | None:
    parts = info.sdp.split('"')
    fields = parts[3].split(":", 2) if len(parts) == 9 and parts[1] == "sdp" else []
    if len(fields) != 3 or fields[0] != "memory":
        return None
    try:
        return Endpoint(Did.parse(fields[1]), fields[2])
    except ValueError:
        return None
