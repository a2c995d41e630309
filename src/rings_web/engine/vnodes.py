"""The storage protocol: storing and fetching VNodes, hand-overs and replicas (SPEC §7.7).

0.2.5 places an id on its Chord successor and hands ids over when a node joins before it.
Beyond 0.2.5, an owner keeps copies with its predecessor and successors, so a VNode outlives
its owner, and a store is acknowledged (or read back from a silent 0.2.5 owner).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from ..did import Did
from ..errors import NotFound, RemoteError, RingsError
from ..wire.types import (
    Extend, FoundVNode, JoinSubring, MessagePayload, OperateVNode, Overwrite, SearchVNode, SyncVNodeWithSuccessor,
    Touch, VirtualNode, VNodeOperation,
)
from .events import Event, PayloadRejected
from .requests import Request, RequestKind

if TYPE_CHECKING:
    from .core import Engine

__all__ = ["VNodes"]


class VNodes:
    """The VNodes one node owns or keeps copies of, and the requests that store or fetch them."""

    def __init__(self, node: Engine, events: deque[Event]) -> None:
        self.node, self.events = node, events
        self.me, self.config, self.ring, self.storage = node.me, node.config, node.ring, node.storage
        self.requests, self.router, self.peers = node.requests, node.router, node.links.peers
        self.holders: frozenset[Did] = frozenset()  # the neighbours our VNodes were copied to

    def owns(self, vid: Did) -> bool:
        """0.2.5 placement: this node stores ids in ``(self, first successor]`` (SPEC §7.7)."""
        return self.ring.stores_here(vid)

    # -- API ---------------------------------------------------------------------------------------
    def store(self, op: VNodeOperation, now: int) -> int:
        vid = op.did if isinstance(op, JoinSubring) else op.vnode.did
        req = self.requests.new(RequestKind.STORE, now, vid)
        if self.owns(vid):
            try:
                return self.requests.done(req.id, self.operate_local(op, now))
            except RemoteError as e:
                return self.requests.fail(req.id, e)
        req.op, req.deadline = op, now + self.config.store_ack_ms
        return self.router.send_request(req, OperateVNode(op), vid, now)

    def fetch(self, vid: Did, now: int, locate: bool = False) -> int:
        req = self.requests.new(RequestKind.FETCH, now, vid)
        req.locate = locate
        if self.owns(vid):
            found = self.storage.get(vid)
            if found is not None:
                return self.requests.done(req.id, found, by=self.me)
            if not self.ring.successors:
                return self.requests.fail(req.id, NotFound(f"no VNode {vid.hex()}"))
            # the owner may be new: a replica lives with its successor (0.2.5's vnode_lookup)
            succ = self.ring.successors.first()
            return self.router.send_request(req, SearchVNode(vid), succ, now, next_hop=succ)
        return self.router.send_request(req, SearchVNode(vid), vid, now)

    def read_back(self, req: Request, now: int) -> None:
        """A store went unacknowledged: a 0.2.5 owner stores without a word, so ask it for
        the VNode and finish the store by what it holds (a late acknowledgement still counts)."""
        req.acked_tx, req.deadline = req.tx_id, now + self.config.request_timeout_ms
        self.router.send_request(req, SearchVNode(req.key), req.key, now)

    # -- keeping copies ----------------------------------------------------------------------------
    def operate_local(self, op: VNodeOperation, now: int) -> VirtualNode:
        return self._replicate(*self.storage.operate(op), now)

    def _replicate(self, vnode: VirtualNode, changed: bool, now: int) -> VirtualNode:
        if changed and self.config.replicas:
            # the neighbours that take over (predecessor) or are asked next (successors)
            for n in {self.ring.predecessor, *self.ring.successors} - {None, self.me}:
                if n in self.peers:
                    self.router.send_direct(SyncVNodeWithSuccessor((vnode,)), n, now)
        return vnode

    def keep_replicas(self, now: int) -> None:
        """Beyond 0.2.5: keep a copy of each VNode we own with our predecessor and successors
        as they change.  Replicas of ids we now own (their owner left) become ours and go to
        every neighbour; otherwise only neighbours new since the last round get copies."""
        if not self.config.replicas:
            return
        holders = frozenset(n for n in (self.ring.predecessor, *self.ring.successors) if n in self.peers)
        adopted = self.storage.adopt(self.owns)
        targets = holders if adopted else holders - self.holders
        self.holders = holders
        if targets and len(self.storage):
            copies = SyncVNodeWithSuccessor(tuple(self.storage))
            for n in targets:
                self.router.send_direct(copies, n, now)

    def unlinked(self, peer: Did, now: int) -> None:
        if peer in self.holders:  # it kept copies: adopt and copy on now, not next round
            self.keep_replicas(now)

    def hand_over(self, successor: Did, now: int) -> None:
        """A new first successor takes over the ids between it and the old one (0.2.5 sync)."""
        moved = self.storage.hand_over(self.owns)
        if moved and successor in self.peers:
            self.router.send_direct(SyncVNodeWithSuccessor(tuple(moved)), successor, now)

    def restore(self, predecessor: Did, now: int) -> None:
        """Beyond 0.2.5: hand a new predecessor the replicas we keep of VNodes it now owns
        (ids in ``[predecessor, self)``): their owner has left, and only its successors kept
        copies."""
        span = self.me.bias(predecessor)
        orphans = tuple(v for v in self.storage.replicas.values() if v.did.bias(predecessor) < span)
        if orphans:
            self.router.send_direct(SyncVNodeWithSuccessor(orphans), predecessor, now)

    def _owner_hop(self, vid: Did, path: tuple[Did, ...]) -> Did | None:
        """The next hop of a VNode message that passed its owner: our predecessor, when ``vid``
        lies in ``(predecessor, self]`` (a route to an id ends at its successor); else None,
        the ring's route (``Router.forward``)."""
        pred = self.ring.predecessor
        if pred is not None and pred in self.peers and pred not in path and vid.in_range(pred, self.me):
            return pred
        return None

    # -- inbound -----------------------------------------------------------------------------------
    def on_search_vnode(self, p: MessagePayload, now: int) -> None:
        vid = p.data.vid
        # on the way to the owner only the owner's copy answers: a replica may lag behind it
        # (copies from different nodes race); the owner itself, or the node asked, answers
        # from a replica too (the owner may have left)
        mine = p.relay.destination == self.me or self.owns(vid)
        found = self.storage.get(vid) if mine else self.storage.owned.get(vid)
        if found is None and p.relay.destination != self.me and self.owns(vid):
            # the owner may be new after churn: the old owner's successors hold replicas
            succ = self.ring.successors.first()
            if succ is not None and succ not in p.relay.path:  # it answers, found or not
                return self.router.forward(p, now, next_hop=succ, destination=succ)
        if found is not None or p.relay.destination == self.me or self.owns(vid):
            # an empty answer tells a rings-web asker "not found" at once (0.2.5 stays silent)
            data = (found,) if found is not None else ()
            return self.router.report(p, FoundVNode(data), now)
        self.router.forward(p, now, next_hop=self._owner_hop(vid, p.relay.path))

    def on_found_vnode(self, p: MessagePayload, now: int) -> None:
        if p.relay.destination != self.me:
            return self.router.forward(p, now)
        req = self.requests.answered_by(p.tx_id)
        if req is None:
            return
        match = next((v for v in p.data.data if v.did == req.key), None)
        lost = req.op is not None and (match is None or not _holds(match, req.op))
        if lost and req.resent and match is not None:
            self.requests.fail(req.id, RemoteError(f"the owner of {req.key.hex()} does not hold what was stored"))
        elif match is not None and not lost:
            self.requests.done(req.id, match, by=p.relay.path[0])  # who answered: the node that holds it
        elif lost and not req.resent:
            # the operation was lost on the way (on a link its far end was closing, or in a
            # ring still settling): send it once more (acknowledged, or read back, as the first)
            self.requests.forget_tx(p.tx_id)
            self.requests.forget_tx(req.acked_tx)
            req.resent, req.acked_tx, req.deadline = True, None, now + self.config.store_ack_ms
            self.router.send_request(req, OperateVNode(req.op), req.key, now)
        elif req.op is None and (kept := self.storage.get(req.key)) is not None:
            self.requests.done(req.id, kept, by=self.me)  # the owner has none, but we kept a copy (its owner left)
        else:
            self.requests.fail(req.id, NotFound(f"no VNode {req.key.hex()}"))

    def on_operate_vnode(self, p: MessagePayload, now: int) -> None:
        op = p.data.op
        vid = op.did if isinstance(op, JoinSubring) else op.vnode.did
        if not self.owns(vid) and p.relay.destination != self.me:
            return self.router.forward(p, now, next_hop=self._owner_hop(vid, p.relay.path))
        vnode = self.operate_local(op, now)
        self.router.report(p, FoundVNode((vnode,)), now)  # the store's ack

    def on_sync_vnode(self, p: MessagePayload, now: int) -> None:
        """A replica from its owner, or a hand-over: merge what we own; pass on a hand-over
        that missed its owner (0.2.5 re-stores it); keep the rest as replicas."""
        routed = p.relay.destination != self.me  # a hand-over on its way to the owner
        sender = p.relay.path[0]
        for vnode in p.data.data:
            if self.owns(vnode.did):  # a hand-over, or the ring is settling: merge, lose nothing
                self._replicate(*self.storage.merge(vnode), now)
            elif routed and len(p.data.data) == 1:
                self.router.forward(p, now, next_hop=self._owner_hop(vnode.did, p.relay.path))
            else:
                if not routed:  # a neighbour's copy (a node on the way keeps none)
                    self.storage.keep_replica(vnode)
                if routed or 0 < vnode.did.bias(self.me) < sender.bias(self.me):
                    # the id lies ahead of us, before the sender: its owner, further on, is a
                    # node the sender does not know yet (a replica's id lies behind us or its sender)
                    try:
                        self.router.send(SyncVNodeWithSuccessor((vnode,)), vnode.did, now)
                    except RingsError as e:  # no way on yet: a neighbour keeps its copy (above)
                        self.events.append(PayloadRejected(None, e))


def _holds(vnode: VirtualNode, op: VNodeOperation) -> bool:
    """``vnode`` shows the effect of the store ``op`` (its entries are there)."""
    if isinstance(op, Overwrite):
        return vnode.data == op.vnode.data
    if isinstance(op, (Extend, Touch)):
        return all(x in vnode.data for x in op.vnode.data)
    return True  # JoinSubring: nothing checkable (and broken in 0.2.5, SPEC §10 item 15)
