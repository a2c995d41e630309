"""Routing and relay: where a message goes next, and how it leaves as frames (SPEC §7.5).

A message to a linked peer goes straight to it; else the ring picks the next hop.  A
message for another node is forwarded, and a report goes back the way its request came.
A message with no unvisited way on goes back the way it came (depth first): at worst to its
origin, which ends it (an offer fails there at once).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from ..did import Did
from ..dht.chord import Local
from ..errors import LocalError, RelayError, RingsError
from ..message import payload as pl
from ..message.relay import check_relay
from ..wire.chunk import split
from ..wire.codec import uuid_of
from ..wire.types import FindSuccessorReport, FindSuccessorSend, Message, MessagePayload, MultiCall
from .events import Action, SendFrames
from .requests import Request

if TYPE_CHECKING:
    from .core import Engine

__all__ = ["Router"]

_UUID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))  # variant and version bits
_UUID_V4 = (0x8000 << 48) | (4 << 76)

#: forwarded requests remembered for their reports, per generation (two are kept)
_BACK_GENERATION = 4096


class Router:
    """Sends, forwards and relays the messages of one node."""

    def __init__(self, node: Engine, actions: list[Action]) -> None:
        self.node, self.actions = node, actions
        self.me, self.session, self.ring, self.rng = node.me, node.session, node.ring, node.rng
        self.requests = node.requests
        self.peers, self.transports = node.links.peers, node.links.transports
        # the answers given to the MultiCall at hand (None outside one)
        self.multicall_reports: set[FindSuccessorReport] | None = None
        # forwarded tx_id -> (previous hop, origin), in two generations
        self._back: dict[uuid.UUID, tuple[Did, Did]] = {}
        self._back_older: dict[uuid.UUID, tuple[Did, Did]] = {}
        # tx ids of this node's last 4096 lookups: only their reports count (else any peer
        # could make this node link to whom it likes)
        self.asked: dict[uuid.UUID, None] = {}

    def new_uuid(self) -> uuid.UUID:
        """A version-4 UUID from the node's rng: ``uuid.UUID(int=..., version=4)`` built
        directly (two per frame sent: its tx id or chunk id)."""
        return uuid_of(self.rng.getrandbits(128) & _UUID_CLEAR | _UUID_V4)

    def route(self, destination: Did, avoid: tuple[Did, ...] = ()) -> Did:
        """Next hop towards ``destination``: the peer itself if linked, else the ring's choice
        among peers not in ``avoid`` (the nodes a forwarded message has visited)."""
        if destination in self.peers:
            return destination
        found = self.ring.find_successor(destination, avoid)
        hop = found.did if isinstance(found, Local) else found.next_hop
        if hop in avoid:  # e.g. our successor, while the destination is not yet linked to us
            hop = self.ring.closest_preceding(destination, avoid)
        if hop is None or hop == self.me or hop not in self.peers:
            raise LocalError(f"no route to {destination.hex()}")
        return hop

    # -- our own messages --------------------------------------------------------------------------
    def send(self, msg: Message, destination: Did, now: int, tx_id: uuid.UUID | None = None) -> uuid.UUID:
        return self.send_via(msg, self.route(destination), destination, now, tx_id)

    def send_via(self, msg: Message, next_hop: Did, destination: Did, now: int,
                 tx_id: uuid.UUID | None = None) -> uuid.UUID:
        tx_id = tx_id or self.new_uuid()
        self.emit(pl.send(self.session, msg, next_hop=next_hop, destination=destination, now=now, tx_id=tx_id), now)
        return tx_id

    def send_direct(self, msg: Message, peer: Did, now: int) -> uuid.UUID:
        return self.send_via(msg, peer, peer, now)

    def report(self, request: MessagePayload, msg: Message, now: int) -> None:
        """Answer ``request`` with ``msg``, back along its path."""
        self.emit(pl.report(self.session, request, msg, now=now), now)

    def send_request(self, req: Request, msg: Message, destination: Did, now: int,
                     next_hop: Did | None = None) -> int:
        """Send ``req``'s message; its answer finishes it.  A message that cannot leave fails it."""
        try:
            hop = self.route(destination) if next_hop is None else next_hop
            tx_id = self.send_via(msg, hop, destination, now)
        except RingsError as e:
            return self.requests.fail(req.id, e)
        self.requests.sent(req, tx_id, msg, destination, hop)
        return req.id

    def reroute(self, lost: Did, now: int) -> None:
        """Beyond 0.2.5: requests that went out through the link to ``lost``, closed since,
        are sent again another way, once (the far end may close a link just as we use it:
        the message, or its answer, is lost with it)."""
        for req in [r for r in self.requests if r.sent is not None and r.sent[2] == lost and not r.rerouted]:
            req.rerouted = True
            self.requests.forget_tx(req.tx_id)
            msg, destination, _ = req.sent
            self.send_request(req, msg, destination, now)

    # -- relaying ----------------------------------------------------------------------------------
    def forward(self, p: MessagePayload, now: int, next_hop: Did | None = None, destination: Did | None = None) -> None:
        if self.multicall_reports is not None:
            raise RelayError(f"a {type(p.data).__name__} inside a MultiCall cannot be forwarded: its origin signed the MultiCall")
        check_relay(p.relay, self.me)
        # a report goes back the way its request came (0.2.5 hopes the ring finds it)
        back = self._back.get(p.tx_id) or self._back_older.get(p.tx_id)
        if next_hop is None and back is not None and back[1] == p.relay.destination and back[0] in self.peers:
            next_hop = back[0]
        hop = next_hop
        if hop is None:
            try:
                hop = self.route(p.relay.destination, p.relay.path)
            except LocalError:  # every way on was visited
                hop = self._retreat(p)
        elif hop in p.relay.path:
            raise RelayError(f"forwarding {type(p.data).__name__} to {hop.hex()} would revisit the path")
        self.remember_back(p)
        self.emit(pl.forward(self.session, p, next_hop=hop, now=now, destination=destination), now)

    def _retreat(self, p: MessagePayload) -> Did:
        """The way back for a message with no unvisited way on: to the node that first handed
        it to us (depth first), so it reaches the nodes its earlier hops did not try, and at
        worst its origin, which ends it.  Its destination left (its peers' reports still name
        it) or is linked to no node the message reached: the ring forming, or a 0.2.5 sender
        that routes by its fingers even when linked to the destination (then the node it came
        from is our only way on).

        Raises:
            LocalError: we are its origin (nobody it reached knows the destination), or the
                way back is gone.
            RelayError: it came back from the node we would retreat to (a ping-pong).
        """
        path, me = p.relay.path, self.me
        if path[0] == me:
            raise LocalError(f"no route to {p.relay.destination.hex()}: no node the message reached knows it")
        back = path[path.index(me) - 1] if me in path else path[-1]
        if me in path and back == path[-1]:
            raise RelayError(f"forwarding {type(p.data).__name__} to {back.hex()} would revisit the path")
        if back not in self.peers:
            raise LocalError(f"no way on for {type(p.data).__name__} to {p.relay.destination.hex()}, "
                             f"nor back to {back.hex()}")
        return back

    def remember_back(self, p: MessagePayload) -> None:
        """Remember where a forwarded request came from, for its report (bounded), and keep
        that link open for another round: the report will come back through it."""
        came_from = p.relay.path[-1]
        if len(self._back) >= _BACK_GENERATION:
            self._back_older, self._back = self._back, {}
        self._back[p.tx_id] = (came_from, p.relay.path[0])
        tid = self.peers.get(came_from)
        if tid is not None:
            self.transports[tid].unused = False

    def emit(self, p: MessagePayload, now: int) -> None:
        """Send a signed payload to its next hop, as frames."""
        tid = self.peers.get(p.relay.next_hop)
        if tid is None:
            raise LocalError(f"no link to next hop {p.relay.next_hop.hex()}")
        self.transports[tid].unused = False  # its answer comes back this way: keep it a round
        if len(p.relay.path) == 1 and isinstance(p.data, (FindSuccessorSend, MultiCall)):
            self.asked[p.tx_id] = None
            if len(self.asked) > 4096:
                del self.asked[next(iter(self.asked))]
        frames = split(pl.encode_payload(p), self.new_uuid(), now)
        self.actions.append(SendFrames(tid, p.relay.next_hop, tuple(frames)))
