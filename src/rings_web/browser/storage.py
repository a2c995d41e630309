"""VNodes in IndexedDB: an in-memory mapping whose writes are mirrored by ``js/storage.mjs``.

The engine reads and writes storage synchronously; IndexedDB is asynchronous.  So every
VNode lives in a dict, loaded once at boot, and each change is queued to IndexedDB in order
(the JS side keeps one readwrite transaction per change; ``flush()`` waits for the last).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

from pyodide.ffi import to_js

from ..did import Did
from ..dht.storage import VNodeStore, decode_vnode, encode_vnode
from ..errors import DecodeError
from ..wire.types import VirtualNode

__all__ = ["IndexedDbVNodes", "open_store"]


class IndexedDbVNodes(MutableMapping[Did, VirtualNode]):
    """One IndexedDB object store of VNodes (bincode values, ``0x…`` DID keys)."""

    def __init__(self, db, store: str, items: dict[Did, VirtualNode]) -> None:
        self._db, self._store, self._items = db, store, items

    def __getitem__(self, did: Did) -> VirtualNode:
        return self._items[did]

    def __setitem__(self, did: Did, vnode: VirtualNode) -> None:
        self._items[did] = vnode
        self._db.put(self._store, did.hex(), to_js(encode_vnode(vnode)))

    def __delitem__(self, did: Did) -> None:
        del self._items[did]
        self._db.delete(self._store, did.hex())

    def __iter__(self) -> Iterator[Did]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)


async def _load(db, store: str) -> dict[Did, VirtualNode]:
    items = {}
    for key, value in (await db.load(store)).to_py():
        try:
            vnode = decode_vnode(bytes(value))
            items[Did.parse(key)] = vnode
        except DecodeError:
            continue  # a row this version cannot read: leave it, the DHT has other copies
    return items


async def open_store(db) -> VNodeStore:
    """A VNodeStore whose owned VNodes and replicas persist in ``db`` (``openVNodeDb()``)."""
    return VNodeStore(IndexedDbVNodes(db, "owned", await _load(db, "owned")),
                      IndexedDbVNodes(db, "replicas", await _load(db, "replicas")))
