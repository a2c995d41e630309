"""VNode operations and the sqlite store."""

import pytest

from rings_web.did import Did
from rings_web.dht.storage import VNODE_DATA_MAX_LEN, VNodeStore, apply_operation
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
