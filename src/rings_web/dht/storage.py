"""VNode storage: the operations of SPEC §7.7 over an in-memory map (persistence wraps it)."""

from __future__ import annotations

from typing import Iterator, MutableMapping

from ..did import Did
from ..errors import RemoteError
from ..wire.buffer import Reader, Writer
from ..wire.types import VIRTUAL_NODE, Extend, JoinSubring, Overwrite, Touch, VirtualNode, VNodeOperation

__all__ = ["VNODE_DATA_MAX_LEN", "apply_operation", "VNodeStore", "encode_vnode", "decode_vnode"]

VNODE_DATA_MAX_LEN = 1024


def apply_operation(existing: VirtualNode | None, op: VNodeOperation) -> VirtualNode:
    """The VNode after ``op`` (``VirtualNode::operate``).

    Raises:
        RemoteError: ``JoinSubring`` (broken in 0.2.5, SPEC §10 item 15) or a kind mismatch.
    """
    if isinstance(op, JoinSubring):
        raise RemoteError("JoinSubring is not supported (it cannot work in 0.2.5 either)")
    new = op.vnode
    if existing is not None and existing.kind != new.kind:
        raise RemoteError(f"VNode {new.did.hex()} is {existing.kind.name}, operation is {new.kind.name}")
    if isinstance(op, Overwrite):
        return new
    old = existing.data if existing is not None else ()
    if isinstance(op, Extend):
        data = old + new.data
    elif isinstance(op, Touch):
        data = tuple(x for x in old if x not in new.data) + new.data
    else:  # pragma: no cover - closed union
        raise RemoteError(f"unknown VNode operation {op!r}")
    return VirtualNode(new.did, data[-VNODE_DATA_MAX_LEN:], new.kind)


def encode_vnode(vnode: VirtualNode) -> bytes:
    """bincode of a VNode: how persistent stores (sqlite, IndexedDB) keep it."""
    w = Writer()
    VIRTUAL_NODE.push(w, vnode)
    return w.getvalue()


def decode_vnode(data: bytes) -> VirtualNode:
    """Inverse of :func:`encode_vnode`; raises DecodeError on bad bytes."""
    return VIRTUAL_NODE.pull(Reader(data))


class VNodeStore:
    """VNodes this node is responsible for, and replicas it keeps for its neighbours."""

    def __init__(self, owned: MutableMapping[Did, VirtualNode] | None = None,
                 replicas: MutableMapping[Did, VirtualNode] | None = None) -> None:
        self.owned = {} if owned is None else owned
        self.replicas = {} if replicas is None else replicas

    def get(self, vid: Did) -> VirtualNode | None:
        found = self.owned.get(vid)
        return found if found is not None else self.replicas.get(vid)

    def operate(self, op: VNodeOperation) -> tuple[VirtualNode, bool]:
        """Apply ``op`` to the owned copy; returns the new VNode and whether it changed."""
        vid = op.vnode.did if not isinstance(op, JoinSubring) else op.did
        before = self._take_over(vid)
        after = apply_operation(before, op)
        self.owned[vid] = after
        return after, after != before

    def merge(self, vnode: VirtualNode) -> tuple[VirtualNode, bool]:
        """Take over a copy of an owned VNode (a hand-over or a replica): entries we hold stay,
        and the copy's entries we lack are appended.  Two nodes that both believed they owned
        ``vnode.did`` while the ring settled may each hold entries the other lacks; 0.2.5
        overwrites, losing one side's.  Returns the merged VNode and whether it changed.

        Raises:
            RemoteError: the copy's kind differs from ours.
        """
        before = self._take_over(vnode.did)
        if before is None:
            after = vnode
        elif before.kind != vnode.kind:
            raise RemoteError(f"VNode {vnode.did.hex()} is {before.kind.name}, the copy is {vnode.kind.name}")
        else:
            have = set(before.data)
            data = before.data + tuple(x for x in vnode.data if x not in have)
            after = VirtualNode(vnode.did, data[-VNODE_DATA_MAX_LEN:], vnode.kind)
        self.owned[vnode.did] = after
        return after, after != before

    def _take_over(self, vid: Did) -> VirtualNode | None:
        """The owned copy of ``vid``, else its replica (which an operation makes owned)."""
        before = self.owned.get(vid)
        return before if before is not None else self.replicas.pop(vid, None)

    def keep_replica(self, vnode: VirtualNode) -> None:
        if vnode.did not in self.owned:
            self.replicas[vnode.did] = vnode

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

    def __iter__(self) -> Iterator[VirtualNode]:
        return iter(list(self.owned.values()))

    def __len__(self) -> int:
        return len(self.owned)
