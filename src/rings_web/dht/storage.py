"""VNode storage: the operations of SPEC §7.7 over an in-memory map (persistence wraps it)."""

from __future__ import annotations

from typing import Iterator, MutableMapping

from ..did import Did
from ..errors import RemoteError
from ..wire.buffer import Reader, Writer
from ..wire.types import VIRTUAL_NODE, Extend, JoinSubring, Overwrite, Touch, VirtualNode, VNodeOperation

__all__ = ["VNODE_DATA_MAX_LEN", "VNODE_MAX_BYTES", "STORE_MAX_BYTES", "apply_operation", "vnode_bytes", "VNodeStore",
           "encode_vnode", "decode_vnode"]

VNODE_DATA_MAX_LEN = 1024
# Beyond 0.2.5, which bounds only the count: 40 topic entries of 700 KB in one VNode made a
# nodeInfo take 19.6 s.  As with the count, the oldest entries go first.
VNODE_MAX_BYTES = 256 << 10  # the entries of one VNode (UTF-8 bytes)
STORE_MAX_BYTES = 64 << 20  # the entries of every VNode a node keeps, owned and replicas


def vnode_bytes(vnode: VirtualNode | None) -> int:
    """The UTF-8 bytes of a VNode's entries (0 for None)."""
    return sum(len(x.encode()) for x in vnode.data) if vnode is not None else 0


def _fit(data: tuple[str, ...], max_bytes: int) -> tuple[str, ...]:
    """The newest entries of ``data`` within ``max_bytes``.

    Raises:
        RemoteError: the newest entry alone is over ``max_bytes``.
    """
    size = 0
    for i in range(len(data) - 1, -1, -1):
        size += len(data[i].encode())
        if size > max_bytes:
            if i == len(data) - 1:
                raise RemoteError(f"a VNode entry of {size} bytes is over the {max_bytes}-byte limit")
            return data[i + 1:]
    return data


def apply_operation(existing: VirtualNode | None, op: VNodeOperation, max_bytes: int = VNODE_MAX_BYTES) -> VirtualNode:
    """The VNode after ``op`` (``VirtualNode::operate``), its oldest entries dropped beyond
    ``VNODE_DATA_MAX_LEN`` entries (as 0.2.5) or ``max_bytes``.

    Raises:
        RemoteError: ``JoinSubring`` (broken in 0.2.5, SPEC §10 item 15), a kind mismatch, or
            a new entry over ``max_bytes`` alone.
    """
    if isinstance(op, JoinSubring):
        raise RemoteError("JoinSubring is not supported (it cannot work in 0.2.5 either)")
    new = op.vnode
    if existing is not None and existing.kind != new.kind:
        raise RemoteError(f"VNode {new.did.hex()} is {existing.kind.name}, operation is {new.kind.name}")
    if isinstance(op, Overwrite):
        return VirtualNode(new.did, _fit(new.data, max_bytes), new.kind)
    old = existing.data if existing is not None else ()
    if isinstance(op, Extend):
        data = old + new.data
    elif isinstance(op, Touch):
        data = tuple(x for x in old if x not in new.data) + new.data
    else:  # pragma: no cover - closed union
        raise RemoteError(f"unknown VNode operation {op!r}")
    return VirtualNode(new.did, _fit(data[-VNODE_DATA_MAX_LEN:], max_bytes), new.kind)


def encode_vnode(vnode: VirtualNode) -> bytes:
    """bincode of a VNode: how persistent stores (sqlite, IndexedDB) keep it."""
    w = Writer()
    VIRTUAL_NODE.push(w, vnode)
    return w.getvalue()


def decode_vnode(data: bytes) -> VirtualNode:
    """Inverse of :func:`encode_vnode`; raises DecodeError on bad bytes."""
    return VIRTUAL_NODE.pull(Reader(data))


class VNodeStore:
    """VNodes this node is responsible for, and replicas it keeps for its neighbours, within
    ``max_vnode_bytes`` per VNode and ``max_bytes`` in all (``bytes`` holds the sum)."""

    def __init__(self, owned: MutableMapping[Did, VirtualNode] | None = None,
                 replicas: MutableMapping[Did, VirtualNode] | None = None,
                 max_vnode_bytes: int = VNODE_MAX_BYTES, max_bytes: int = STORE_MAX_BYTES) -> None:
        self.owned = {} if owned is None else owned
        self.replicas = {} if replicas is None else replicas
        self.max_vnode_bytes, self.max_bytes = max_vnode_bytes, max_bytes
        self.bytes = sum(map(vnode_bytes, self.owned.values())) + sum(map(vnode_bytes, self.replicas.values()))

    def get(self, vid: Did) -> VirtualNode | None:
        found = self.owned.get(vid)
        return found if found is not None else self.replicas.get(vid)

    def operate(self, op: VNodeOperation) -> tuple[VirtualNode, bool]:
        """Apply ``op`` to the owned copy (or the replica, which becomes owned); returns the new
        VNode and whether it changed.

        Raises:
            RemoteError: see :func:`apply_operation`, or the store is full.
        """
        vid = op.vnode.did if not isinstance(op, JoinSubring) else op.did
        before = self.get(vid)
        return self._own(before, apply_operation(before, op, self.max_vnode_bytes))

    def merge(self, vnode: VirtualNode) -> tuple[VirtualNode, bool]:
        """Take over a copy of an owned VNode (a hand-over or a replica): entries we hold stay,
        and the copy's entries we lack are appended.  Two nodes that both believed they owned
        ``vnode.did`` while the ring settled may each hold entries the other lacks; 0.2.5
        overwrites, losing one side's.  Returns the merged VNode and whether it changed.

        Raises:
            RemoteError: the copy's kind differs from ours, or the store is full.
        """
        before = self.get(vnode.did)
        if before is not None and before.kind != vnode.kind:
            raise RemoteError(f"VNode {vnode.did.hex()} is {before.kind.name}, the copy is {vnode.kind.name}")
        have = set(before.data) if before is not None else set()
        data = (before.data if before is not None else ()) + tuple(x for x in vnode.data if x not in have)
        return self._own(before, VirtualNode(vnode.did, _fit(data[-VNODE_DATA_MAX_LEN:], self.max_vnode_bytes), vnode.kind))

    def _own(self, before: VirtualNode | None, after: VirtualNode) -> tuple[VirtualNode, bool]:
        """Keep ``after`` as owned in place of ``before`` (owned or a replica), within ``max_bytes``."""
        grow = vnode_bytes(after) - vnode_bytes(before)
        if grow > 0 and self.bytes + grow > self.max_bytes:
            raise RemoteError(f"storage full: {self.bytes} of {self.max_bytes} bytes kept")
        self.owned[after.did] = after
        self.replicas.pop(after.did, None)
        self.bytes += grow
        return after, after != before

    def keep_replica(self, vnode: VirtualNode) -> None:
        """Keep a neighbour's copy, unless we own the id or it does not fit (a copy is best effort)."""
        if vnode.did in self.owned:
            return
        try:
            vnode = VirtualNode(vnode.did, _fit(vnode.data[-VNODE_DATA_MAX_LEN:], self.max_vnode_bytes), vnode.kind)
        except RemoteError:
            return
        grow = vnode_bytes(vnode) - vnode_bytes(self.replicas.get(vnode.did))
        if grow <= 0 or self.bytes + grow <= self.max_bytes:
            self.replicas[vnode.did] = vnode
            self.bytes += grow

    def adopt(self, owns) -> list[VirtualNode]:
        """Replicas whose ids ``owns(vid)`` now become owned (their owner left); returns them."""
        adopted = [v for vid, v in self.replicas.items() if owns(vid)]
        for v in adopted:  # (keep_replica never copies an owned id: nothing to merge with)
            self.owned[v.did] = self.replicas.pop(v.did)
        return adopted

    def hand_over(self, keep) -> list[VirtualNode]:
        """Remove and return the owned VNodes for which ``keep(vid)`` is false."""
        moved = [v for vid, v in self.owned.items() if not keep(vid)]
        for v in moved:
            del self.owned[v.did]
            self.replicas[v.did] = v  # keep a copy: the new owner may leave again
        return moved

    def head(self, count: int, max_bytes: int = 64 << 10) -> list[VirtualNode]:
        """The first owned VNodes, at most ``count`` of them with ``max_bytes`` of entries in
        all: what an unauthenticated ``nodeInfo`` shows, at a bounded cost (64 KB: ~25 ms)."""
        shown, size = [], 0
        for vnode in self:
            size += vnode_bytes(vnode)
            if len(shown) == count or size > max_bytes:
                break
            shown.append(vnode)
        return shown

    def __iter__(self) -> Iterator[VirtualNode]:
        for vid in list(self.owned):  # one at a time: a persistent mapping decodes on access
            vnode = self.owned.get(vid)
            if vnode is not None:
                yield vnode

    def __len__(self) -> int:
        return len(self.owned)
