"""VNodes on disk: a sqlite-backed mapping for :class:`~rings_web.dht.storage.VNodeStore`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, MutableMapping

from ..did import Did
from ..dht.storage import STORE_MAX_BYTES, VNodeStore, decode_vnode, encode_vnode
from ..wire.types import VirtualNode

__all__ = ["SqliteVNodes", "open_store"]


class SqliteVNodes(MutableMapping[Did, VirtualNode]):
    """One table of VNodes (bincode values, hex DID keys); every write is committed."""

    def __init__(self, db: sqlite3.Connection, table: str) -> None:
        if not table.isidentifier():
            raise ValueError(f"bad table name {table!r}")
        self.db, self.table = db, table
        db.execute(f"CREATE TABLE IF NOT EXISTS {table} (did TEXT PRIMARY KEY, vnode BLOB NOT NULL)")
        db.commit()

    def __getitem__(self, did: Did) -> VirtualNode:
        row = self.db.execute(f"SELECT vnode FROM {self.table} WHERE did = ?", (did.hex(),)).fetchone()
        if row is None:
            raise KeyError(did)
        return decode_vnode(row[0])

    def __setitem__(self, did: Did, vnode: VirtualNode) -> None:
        self.db.execute(f"INSERT OR REPLACE INTO {self.table} (did, vnode) VALUES (?, ?)", (did.hex(), encode_vnode(vnode)))
        self.db.commit()

    def __delitem__(self, did: Did) -> None:
        if self.db.execute(f"DELETE FROM {self.table} WHERE did = ?", (did.hex(),)).rowcount == 0:
            raise KeyError(did)
        self.db.commit()

    def __iter__(self) -> Iterator[Did]:
        return iter([Did.parse(r[0]) for r in self.db.execute(f"SELECT did FROM {self.table}")])

    def __len__(self) -> int:
        return self.db.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()[0]


def open_store(path: str, max_bytes: int = STORE_MAX_BYTES) -> VNodeStore:
    """A VNodeStore whose owned VNodes and replicas live in the sqlite file ``path``, keeping
    ``max_bytes`` of entries at most."""
    db = sqlite3.connect(path)
    return VNodeStore(SqliteVNodes(db, "owned"), SqliteVNodes(db, "replicas"), max_bytes=max_bytes)
