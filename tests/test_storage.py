"""VNode operations and the sqlite store."""

import pytest

from rings_web.did import Did
from rings_web.dht.storage import VNODE_DATA_MAX_LEN, VNodeStore, apply_operation, vnode_bytes
from rings_web.errors import RemoteError
from rings_web.wire.types import Extend, JoinSubring, Overwrite, Touch, VirtualNode, VNodeType

V = Did(5)


def test_operations():
    v = apply_operation(None, Extend(VirtualNode(V, ("a",))))
    v = apply_operation(v, Extend(VirtualNode(V, ("b", "c"))))
    assert v.data == ("a", "b", "c")
    assert apply_operation(v, Touch(VirtualNode(V, ("a",)))).data == ("b", "c", "a")
    assert apply_operation(v, Overwrite(VirtualNode(V, ("z",)))).data == ("z",)
    long = apply_operation(None, Extend(VirtualNode(V, tuple(map(str, range(VNODE_DATA_MAX_LEN + 5))))))
    assert len(long.data) == VNODE_DATA_MAX_LEN and long.data[0] == "5"
    with pytest.raises(RemoteError):
        apply_operation(None, JoinSubring("x", V))
    with pytest.raises(RemoteError):
        apply_operation(v, Extend(VirtualNode(V, ("q",), VNodeType.Subring)))


def test_a_copy_of_an_owned_vnode_is_merged_not_overwritten():
    store = VNodeStore()
    store.operate(Touch(VirtualNode(V, ("ours", "both"))))
    merged, changed = store.merge(VirtualNode(V, ("both", "theirs")))
    assert changed and merged.data == ("ours", "both", "theirs") == store.get(V).data
    assert store.merge(VirtualNode(V, ("theirs",))) == (merged, False)  # nothing new: no change
    store.keep_replica(VirtualNode(Did(6), ("replica",)))
    assert store.merge(VirtualNode(Did(6), ("handed over",)))[0].data == ("replica", "handed over")
    assert Did(6) in store.owned and Did(6) not in store.replicas
    assert store.merge(VirtualNode(Did(7), ("new",)))[0].data == ("new",)
    with pytest.raises(RemoteError):
        store.merge(VirtualNode(V, ("x",), VNodeType.Subring))
    assert store.get(V) == merged


def test_bytes_are_bounded_per_vnode_and_in_all():
    store = VNodeStore(max_vnode_bytes=100, max_bytes=250)
    for i in range(5):  # 5 x 30 bytes into a 100-byte VNode: the oldest go, as past the count
        store.operate(Extend(VirtualNode(V, (f"{i}" * 30,))))
    assert store.get(V).data == ("2" * 30, "3" * 30, "4" * 30) and store.bytes == 90
    assert store.operate(Overwrite(VirtualNode(V, ("é" * 40, "x" * 30))))[0].data == ("x" * 30,)  # é: 2 bytes
    with pytest.raises(RemoteError, match="over the 100-byte limit"):  # one entry alone too big: refused
        store.operate(Extend(VirtualNode(V, ("y" * 101,))))
    assert store.get(V).data == ("x" * 30,) and store.bytes == 30
    store.operate(Extend(VirtualNode(Did(6), ("a" * 100,))))
    store.keep_replica(VirtualNode(Did(7), ("r" * 100,)))
    assert store.bytes == 230
    with pytest.raises(RemoteError, match="storage full"):  # 230 + 30 > 250: refused, nothing changed
        store.operate(Extend(VirtualNode(V, ("z" * 30,))))
    assert store.get(V).data == ("x" * 30,) and store.bytes == 230
    store.keep_replica(VirtualNode(Did(8), ("q" * 30,)))  # a neighbour's copy that does not fit: not kept
    assert store.get(Did(8)) is None
    with pytest.raises(RemoteError):  # a replica whose operation fails stays a replica
        store.operate(Extend(VirtualNode(Did(7), ("k",), VNodeType.Subring)))
    assert store.replicas[Did(7)].data == ("r" * 100,)
    store.hand_over(lambda vid: vid != Did(6))
    store.adopt(lambda vid: vid == Did(6))
    assert store.bytes == 230 == sum(map(vnode_bytes, [*store.owned.values(), *store.replicas.values()]))
    assert VNodeStore(store.owned, store.replicas).bytes == 230  # counted again on opening


class Counting(dict):
    reads = 0

    def get(self, key, default=None):
        Counting.reads += 1
        return super().get(key, default)


def test_head_reads_and_shows_a_bounded_part():
    owned = Counting({Did(i): VirtualNode(Did(i), ("e" * 1000,) * 10) for i in range(1, 300)})  # 10 KB each
    store = VNodeStore(owned)
    shown = store.head(256, max_bytes=64 << 10)
    assert len(shown) == 6 and Counting.reads == 7  # 6 x 10 KB fit in 64 KB; the 7th was read, not shown
    assert [v.did for v in store.head(3)] == [Did(1), Did(2), Did(3)]
    assert store.head(5, max_bytes=100) == []


@pytest.mark.cpython_only
def test_sqlite_store_survives_reopen(tmp_path):
    from rings_web.native.storage import open_store

    path = str(tmp_path / "v.db")
    store = open_store(path)
    store.operate(Extend(VirtualNode(V, ("a",))))
    store.keep_replica(VirtualNode(Did(9), ("r",)))
    again = open_store(path)
    assert again.get(V).data == ("a",) and again.get(Did(9)).data == ("r",) and len(again) == 1
    moved = again.hand_over(lambda vid: vid != V)
    assert [m.did for m in moved] == [V] and len(again) == 0 and again.get(V) is not None
    assert isinstance(store, VNodeStore)
