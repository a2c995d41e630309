"""The Rings 0.2.5 wire types (SPEC §3.4, §4), as frozen dataclasses with their codecs.

Field order is wire order.  Each type's codec sits right below it; :data:`MESSAGE` and
:data:`PAYLOAD` are the two that matter most.  Python-side conventions:

* ``Vec<T>`` is a tuple, ``Option<T>`` is ``T | None``, ``Vec<u8>`` is ``bytes``;
* ``Ttl::Never`` is ``None`` (``Ttl::Some(ms)`` is the int);
* unit enum variants are :class:`enum.IntEnum` members with the wire index as value.
"""

from __future__ import annotations

import enum
import struct
import uuid
from dataclasses import dataclass
from typing import Union

from ..did import Did
from ..errors import DecodeError
from .buffer import USIZE_MAX, Reader, Writer
from . import base58
from .codec import BOOL, BYTES, STR, U8, U16, U128, USIZE, Codec, Enum, Field, Newtype, Opt, Seq, Struct, Unit, Variant
from .compiled import quick_init
from .fast import DID, UUID, ByIdentity, Remembered, Weighed

#: MultiCall may nest; bound it so hostile input cannot exhaust the stack (0.2.5: unbounded).
MAX_NESTING = 8
_U64 = (1 << 64) - 1


# -- handshake (SPEC §3.4) ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class IceCandidate:
    candidate: str
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None
    username_fragment: str | None = None


ICE_CANDIDATE = Struct(
    IceCandidate,
    Field("candidate", STR),
    Field("sdp_mid", Opt(STR), "sdpMid"),
    Field("sdp_mline_index", Opt(U16), "sdpMLineIndex"),
    Field("username_fragment", Opt(STR), "usernameFragment"),
)


@dataclass(frozen=True, slots=True)
class HandshakeInfo:
    """SDP as a JSON *text* ``{"sdp": …, "type": …}`` plus the gathered candidates."""

    sdp: str
    candidates: tuple[IceCandidate, ...] = ()


HANDSHAKE_INFO = Struct(HandshakeInfo, ("sdp", STR), ("candidates", Seq(ICE_CANDIDATE)))


# -- storage (SPEC §4.5, §7.7) --------------------------------------------------------------
class VNodeType(enum.IntEnum):
    Data = 0
    Subring = 1
    RelayMessage = 2


VNODE_TYPE = Enum("VNodeType", *(Variant(k.name, value=k) for k in VNodeType))


@dataclass(frozen=True, slots=True)
class VirtualNode:
    did: Did
    data: tuple[str, ...]  # ``Encoded`` strings: base58-monero-check text, normally
    kind: VNodeType = VNodeType.Data


VIRTUAL_NODE = Struct(VirtualNode, ("did", DID), ("data", Seq(STR)), ("kind", VNODE_TYPE))


@dataclass(frozen=True, slots=True)
class Overwrite:
    vnode: VirtualNode


@dataclass(frozen=True, slots=True)
class Extend:
    vnode: VirtualNode


@dataclass(frozen=True, slots=True)
class Touch:
    vnode: VirtualNode


@dataclass(frozen=True, slots=True)
class JoinSubring:
    name: str
    did: Did


VNodeOperation = Union[Overwrite, Extend, Touch, JoinSubring]


class _Pair(Codec):
    """A tuple variant of two fields (``JoinSubring(String, Did)``): JSON array."""

    __slots__ = ()
    min_size = 58

    def pull(self, r: Reader) -> JoinSubring:
        return JoinSubring(STR.pull(r), DID.pull(r))

    def push(self, w: Writer, value: JoinSubring) -> None:
        STR.push(w, value.name)
        DID.push(w, value.did)

    def to_json(self, value: JoinSubring) -> list:
        return [value.name, value.did.hex()]

    def from_json(self, obj) -> JoinSubring:
        if type(obj) is not list or len(obj) != 2:
            raise DecodeError("JoinSubring: expected [name, did]")
        return JoinSubring(STR.from_json(obj[0]), DID.from_json(obj[1]))


VNODE_OPERATION = Enum(
    "VNodeOperation",
    *(Variant(c.__name__, Newtype(c, "vnode", VIRTUAL_NODE), c) for c in (Overwrite, Extend, Touch)),
    Variant("JoinSubring", _Pair(), JoinSubring),
)


# -- FindSuccessor handlers ------------------------------------------------------------------
class Handler(enum.IntEnum):
    """``FindSuccessorReportHandler`` unit variants; ``CustomCallback(u8)`` is its own class."""

    None_ = 0
    Connect = 1
    FixFingerTable = 2
    SyncStorage = 3


@dataclass(frozen=True, slots=True)
class CustomCallback:
    value: int


ReportHandler = Union[Handler, CustomCallback]

REPORT_HANDLER = Enum(
    "FindSuccessorReportHandler",
    Variant("None", value=Handler.None_),
    Variant("Connect", value=Handler.Connect),
    Variant("FixFingerTable", value=Handler.FixFingerTable),
    Variant("SyncStorage", value=Handler.SyncStorage),
    Variant("CustomCallback", Newtype(CustomCallback, "value", U8), CustomCallback),
)


class _Then(Codec):
    """``FindSuccessorThen::Report(handler)``, its only variant; Python holds the handler."""

    __slots__ = ()
    min_size = 8

    def pull(self, r: Reader) -> ReportHandler:
        index = r.pull_u32()
        if index != 0:
            raise DecodeError(f"invalid FindSuccessorThen variant index {index}")
        return REPORT_HANDLER.pull(r)

    def push(self, w: Writer, value: ReportHandler) -> None:
        w.push_u32(0)
        REPORT_HANDLER.push(w, value)

    def to_json(self, value: ReportHandler):
        return {"Report": REPORT_HANDLER.to_json(value)}

    def from_json(self, obj) -> ReportHandler:
        if type(obj) is not dict or list(obj) != ["Report"]:
            raise DecodeError("FindSuccessorThen: expected {\"Report\": handler}")
        return REPORT_HANDLER.from_json(obj["Report"])


# -- Message (SPEC §4.5) ---------------------------------------------------------------------
# messages, sessions and verifications are weakly referable: .fast.ByIdentity keeps their
# bytes only while they live
@dataclass(frozen=True, slots=True, weakref_slot=True)
class MultiCall:
    messages: tuple["Message", ...]


@dataclass(frozen=True, slots=True, weakref_slot=True)
class JoinDHT:
    did: Did


@dataclass(frozen=True, slots=True, weakref_slot=True)
class LeaveDHT:
    did: Did


@quick_init
@dataclass(frozen=True, slots=True, weakref_slot=True)
class ConnectNodeSend:
    transport_uuid: str
    offer: HandshakeInfo


@dataclass(frozen=True, slots=True, weakref_slot=True)
class AlreadyConnected:
    pass


@quick_init
@dataclass(frozen=True, slots=True, weakref_slot=True)
class ConnectNodeReport:
    transport_uuid: str
    answer: HandshakeInfo


@quick_init
@dataclass(frozen=True, slots=True, weakref_slot=True)
class FindSuccessorSend:
    did: Did
    strict: bool
    then: ReportHandler


@quick_init
@dataclass(frozen=True, slots=True, weakref_slot=True)
class FindSuccessorReport:
    did: Did
    handler: ReportHandler


@quick_init
@dataclass(frozen=True, slots=True, weakref_slot=True)
class NotifyPredecessorSend:
    did: Did


@quick_init
@dataclass(frozen=True, slots=True, weakref_slot=True)
class NotifyPredecessorReport:
    did: Did


@dataclass(frozen=True, slots=True, weakref_slot=True)
class SearchVNode:
    vid: Did


@dataclass(frozen=True, slots=True, weakref_slot=True)
class FoundVNode:
    data: tuple[VirtualNode, ...]


@dataclass(frozen=True, slots=True, weakref_slot=True)
class OperateVNode:
    op: VNodeOperation


@dataclass(frozen=True, slots=True, weakref_slot=True)
class SyncVNodeWithSuccessor:
    data: tuple[VirtualNode, ...]


@dataclass(frozen=True, slots=True, weakref_slot=True)
class CustomMessage:
    """``MaybeEncrypted<CustomMessage>``: ``Plain`` bytes, or an ECIES ``Encrypted`` blob."""

    data: bytes
    encrypted: bool = False


Message = Union[
    MultiCall, JoinDHT, LeaveDHT, ConnectNodeSend, AlreadyConnected, ConnectNodeReport,
    FindSuccessorSend, FindSuccessorReport, NotifyPredecessorSend, NotifyPredecessorReport,
    SearchVNode, FoundVNode, OperateVNode, SyncVNodeWithSuccessor, CustomMessage,
]


class _MaybeEncrypted(Codec):
    """0 ``Encrypted(Vec<u8>)`` / 1 ``Plain(CustomMessage(Vec<u8>))``."""

    __slots__ = ()
    min_size = 12

    def pull(self, r: Reader) -> CustomMessage:
        index = r.pull_u32()
        if index > 1:
            raise DecodeError(f"invalid MaybeEncrypted variant index {index}")
        return CustomMessage(r.pull_bytes(), encrypted=index == 0)

    def push(self, w: Writer, value: CustomMessage) -> None:
        w.push_u32(0 if value.encrypted else 1)
        w.push_bytes(value.data)

    def to_json(self, value: CustomMessage):
        return {"Encrypted" if value.encrypted else "Plain": list(value.data)}

    def from_json(self, obj) -> CustomMessage:
        if type(obj) is not dict or len(obj) != 1 or next(iter(obj)) not in ("Plain", "Encrypted"):
            raise DecodeError("MaybeEncrypted: expected {\"Plain\": [...]} or {\"Encrypted\": [...]}")
        ((name, body),) = obj.items()
        return CustomMessage(BYTES.from_json(body), encrypted=name == "Encrypted")


class _MultiCall(Codec):
    """``MultiCall { messages: Vec<Message> }`` with nesting bounded by MAX_NESTING."""

    __slots__ = ("depth",)
    min_size = 8

    def __init__(self) -> None:
        self.depth = 0  # JSON-side nesting (bincode uses Reader.depth)

    def pull(self, r: Reader) -> MultiCall:
        if r.depth >= MAX_NESTING:
            raise DecodeError(f"MultiCall nested deeper than {MAX_NESTING}")
        r.depth += 1
        try:
            return MultiCall(Seq(MESSAGE).pull(r))
        finally:
            r.depth -= 1

    def push(self, w: Writer, value: MultiCall) -> None:
        Seq(MESSAGE).push(w, value.messages)

    def to_json(self, value: MultiCall):
        return {"messages": [MESSAGE.to_json(m) for m in value.messages]}

    def from_json(self, obj) -> MultiCall:
        if type(obj) is not dict or "messages" not in obj:
            raise DecodeError("MultiCall: missing field `messages`")
        if self.depth >= MAX_NESTING:
            raise DecodeError(f"MultiCall nested deeper than {MAX_NESTING}")
        self.depth += 1
        try:
            return MultiCall(Seq(MESSAGE).from_json(obj["messages"]))
        finally:
            self.depth -= 1


def _did_struct(cls: type, name: str = "did") -> Struct:
    return Struct(cls, (name, DID))


MESSAGE = Enum(
    "Message",
    Variant("MultiCall", _MultiCall(), MultiCall),
    Variant("JoinDHT", _did_struct(JoinDHT), JoinDHT),
    Variant("LeaveDHT", _did_struct(LeaveDHT), LeaveDHT),
    Variant("ConnectNodeSend", Struct(ConnectNodeSend, ("transport_uuid", STR), ("offer", HANDSHAKE_INFO)), ConnectNodeSend),
    Variant("AlreadyConnected", Unit(AlreadyConnected()), AlreadyConnected),
    Variant("ConnectNodeReport", Struct(ConnectNodeReport, ("transport_uuid", STR), ("answer", HANDSHAKE_INFO)), ConnectNodeReport),
    Variant("FindSuccessorSend", Struct(FindSuccessorSend, ("did", DID), ("strict", BOOL), ("then", _Then())), FindSuccessorSend),
    Variant("FindSuccessorReport", Struct(FindSuccessorReport, ("did", DID), ("handler", REPORT_HANDLER)), FindSuccessorReport),
    Variant("NotifyPredecessorSend", _did_struct(NotifyPredecessorSend), NotifyPredecessorSend),
    Variant("NotifyPredecessorReport", _did_struct(NotifyPredecessorReport), NotifyPredecessorReport),
    Variant("SearchVNode", _did_struct(SearchVNode, "vid"), SearchVNode),
    Variant("FoundVNode", Struct(FoundVNode, ("data", Seq(VIRTUAL_NODE))), FoundVNode),
    Variant("OperateVNode", Newtype(OperateVNode, "op", VNODE_OPERATION), OperateVNode),
    Variant("SyncVNodeWithSuccessor", Struct(SyncVNodeWithSuccessor, ("data", Seq(VIRTUAL_NODE))), SyncVNodeWithSuccessor),
    Variant("CustomMessage", _MaybeEncrypted(), CustomMessage),
)


# -- sessions (SPEC §4.4) --------------------------------------------------------------------
class Signer(enum.IntEnum):
    """How the wallet signed the session (JS ``SignerMode``)."""

    DEFAULT = 0
    EIP191 = 1
    EdDSA = 2
    BIP137 = 3


SIGNER = Enum("Signer", *(Variant(s.name, value=s) for s in Signer))


class _Ttl(Codec):
    """``Ttl``: 0 ``Some(usize)`` / 1 ``Never``; Python int / None."""

    __slots__ = ()
    min_size = 4

    def pull(self, r: Reader) -> int | None:
        index = r.pull_u32()
        if index == 0:
            return r.pull_usize()
        if index == 1:
            return None
        raise DecodeError(f"invalid Ttl variant index {index}")

    def push(self, w: Writer, value: int | None) -> None:
        if value is None:
            w.push_u32(1)
        else:
            w.push_u32(0)
            w.push_usize(value)

    def to_json(self, value: int | None):
        return "Never" if value is None else {"Some": value}

    def from_json(self, obj) -> int | None:
        if obj == "Never":
            return None
        if type(obj) is dict and list(obj) == ["Some"]:
            return USIZE.from_json(obj["Some"])
        raise DecodeError("Ttl: expected {\"Some\": ms} or \"Never\"")


class _PublicKey(Codec):
    """``PublicKey([u8;33])``: base58-monero-check string in both formats."""

    __slots__ = ()
    min_size = 8

    def pull(self, r: Reader) -> bytes:
        return self.from_json(r.pull_str())

    def push(self, w: Writer, value: bytes) -> None:
        w.push_str(base58.encode_check(value))

    def to_json(self, value: bytes) -> str:
        return base58.encode_check(value)

    def from_json(self, obj: Any) -> bytes:
        if type(obj) is not str:
            raise DecodeError(f"invalid type: expected a base58 public key, got {repr(obj)[:60]}")
        key = base58.decode_check(obj)
        if len(key) != 33:
            raise DecodeError(f"PublicKey: expected 33 bytes, got {len(key)}")
        return key


PUBKEY = _PublicKey()


@dataclass(frozen=True, slots=True)
class Authorizer:
    did: Did
    pubkey: bytes | None = None  # 33-byte PublicKey; only EdDSA sessions carry it


AUTHORIZER = Struct(Authorizer, ("did", DID), ("pubkey", Opt(PUBKEY)))


@dataclass(frozen=True, slots=True)
class AuthorizedInfo:
    """What the wallet signs (as canonical JSON text) to delegate to a session key."""

    authorizer: Authorizer
    signer: Signer
    ttl_ms: int | None  # None = Ttl::Never
    ts_ms: int
    session_id: Did  # address of the session key


AUTHORIZED_INFO = Struct(
    AuthorizedInfo,
    ("authorizer", AUTHORIZER), ("signer", SIGNER), ("ttl_ms", _Ttl()), ("ts_ms", U128),
    ("session_id", DID),
)


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Session:
    sig: bytes  # wallet signature over the auth JSON text
    auth: AuthorizedInfo


class _SessionCodec(Struct):
    """``Session``, with its bytes remembered: every payload carries the same sessions again.

    A session is decoded once and then recognised by its bytes (the key is its first 128
    bytes: the wallet signature and the wallet's DID; the whole encoding must match), and
    encoded once per Session object.  A session is some 250 bytes: larger ones (only a
    hostile peer's) are not kept.
    """

    __slots__ = ("_decoded", "_encoded")

    def __init__(self, *fields) -> None:
        super().__init__(Session, *fields)
        # each for ~34 000 sessions (~480 B an entry): a simulator process holds up to 10 000
        # nodes, every one of them sending and receiving; with room for 8 000 and 2 000 (4 MB
        # and 1 MB), 10 000 sessions took 27 us to decode a payload and 13 us to encode one,
        # beside 18 and 7 us with 1 000 (every session missed)
        self._decoded = Weighed(16 << 20, 1024)  # first 128 bytes -> (Session, all its bytes)
        self._encoded = ByIdentity(16 << 20, 1024)  # id(Session) -> its bytes (held weakly)

    def pull(self, r: Reader) -> Session:
        found = self.known(r.data, r.pos)
        if found is not None:
            r.pos = found[1]
            return found[0]
        start = r.pos
        value = super().pull(r)
        self._decoded.put(r.data[start : start + 128], value, r.data[start : r.pos])
        return value

    def known(self, data: bytes, pos: int) -> tuple[Session, int] | None:
        """The session encoded at ``data[pos:]`` and where it ends, if decoded lately."""
        hit = self._decoded.get(data[pos : pos + 128])
        if hit is not None and data.startswith(hit[1], pos):
            return hit[0], pos + len(hit[1])
        return None

    def push(self, w: Writer, value: Session) -> None:
        self._encoded.push(w, value, super().push)


SESSION = _SessionCodec(("sig", BYTES), ("auth", AUTHORIZED_INFO))


# -- payload (SPEC §4.1–4.3) -----------------------------------------------------------------
@quick_init
@dataclass(frozen=True, slots=True)
class MessageRelay:
    path: tuple[Did, ...]  # originator first, current sender last
    next_hop: Did
    destination: Did


class _RelayCodec(Struct):
    """``MessageRelay``: its DIDs (originator first, then every hop, next hop, destination)
    read and written in one pass (hot path); anything unusual takes the generic path."""

    __slots__ = ()

    def pull(self, r: Reader) -> MessageRelay:
        data, pos = r.data, r.pos
        if pos + 8 <= len(data):
            n = int.from_bytes(data[pos : pos + 8], "little")
            end = pos + 8 + 50 * (n + 2)
            if end <= len(data):
                dids = DID.known([data[i : i + 50] for i in range(pos + 8, end, 50)])
                if dids is not None:
                    r.pos = end
                    return MessageRelay(tuple(dids[:n]), dids[n], dids[n + 1])
        return super().pull(r)  # a DID not seen lately, or an error

    def push(self, w: Writer, value: MessageRelay) -> None:
        encoded = DID.encoded
        w.buf += b"".join([len(value.path).to_bytes(8, "little"), *map(encoded, value.path),
                           encoded(value.next_hop), encoded(value.destination)])


RELAY = _RelayCodec(MessageRelay, ("path", Seq(DID)), ("next_hop", DID), ("destination", DID))


@quick_init
@dataclass(frozen=True, slots=True, weakref_slot=True)
class MessageVerification:
    session: Session
    ttl_ms: int  # usize
    ts_ms: int  # u128
    sig: bytes  # session-key signature r||s||v, v in {0, 1}


class _VerificationCodec(Struct):
    """``MessageVerification``, with the fixed-width tail read in one step (hot path: two
    per payload).  Anything unusual takes the field-by-field path, which names the error."""

    __slots__ = ()
    _TAIL = struct.Struct("<QQQQ")  # ttl_ms, ts_ms low and high halves, signature length

    def pull(self, r: Reader) -> MessageVerification:
        start = r.pos
        session = SESSION.pull(r)
        pos, data = r.pos, r.data
        if pos + 32 <= len(data):
            ttl, low, high, n = self._TAIL.unpack_from(data, pos)
            end = pos + 32 + n
            if ttl <= USIZE_MAX and end <= len(data):
                r.pos = end
                return MessageVerification(session, ttl, low | high << 64, data[pos + 32 : end])
        r.pos = start
        return super().pull(r)

    def push(self, w: Writer, value: MessageVerification) -> None:
        SESSION.push(w, value.session)
        ts, sig = value.ts_ms, value.sig
        w.buf += self._TAIL.pack(value.ttl_ms, ts & _U64, ts >> 64, len(sig)) + sig


VERIFICATION = _VerificationCodec(
    MessageVerification, ("session", SESSION), ("ttl_ms", USIZE), ("ts_ms", U128), ("sig", BYTES)
)


@quick_init
@dataclass(frozen=True, slots=True)
class MessagePayload:
    data: Message
    tx_id: uuid.UUID
    addr: Did
    relay: MessageRelay
    verification: MessageVerification
    origin_verification: MessageVerification


class _PayloadCodec(Struct):
    """``MessagePayload``, one per frame.

    The message and the origin's verification are remembered: forwarding re-encodes them
    by a copy.  The origin's verification of a new message is its hop verification, and
    its bytes are written once and copied.
    """

    __slots__ = ("_message", "_origin")

    def __init__(self) -> None:
        self._message, self._origin = Remembered(MESSAGE), Remembered(VERIFICATION)
        super().__init__(
            MessagePayload,
            ("data", self._message), ("tx_id", UUID), ("addr", DID), ("relay", RELAY),
            ("verification", VERIFICATION), ("origin_verification", self._origin),
        )

    def pull(self, r: Reader) -> MessagePayload:
        message = self._message.pull(r)
        tx_id = UUID.pull(r)
        addr = DID.pull(r)
        relay = RELAY.pull(r)
        start = r.pos
        v = VERIFICATION.pull(r)
        end, data = r.pos, r.data
        if data.startswith(data[start:end], end):  # a payload not forwarded: its origin signed this hop
            ov = v
            r.pos = end + end - start
        else:
            ov = VERIFICATION.pull(r)
        self._origin.keep(ov, data, end, r.pos)
        return MessagePayload(message, tx_id, addr, relay, v, ov)

    def push(self, w: Writer, value: MessagePayload) -> None:
        self._message.push(w, value.data)
        UUID.push(w, value.tx_id)
        DID.push(w, value.addr)
        RELAY.push(w, value.relay)
        start = len(w.buf)
        VERIFICATION.push(w, value.verification)
        if value.origin_verification is value.verification:
            w.buf += w.buf[start:]
        else:
            self._origin.push(w, value.origin_verification)


PAYLOAD = _PayloadCodec()


# -- data-channel frame (SPEC §3.3) ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ChunkMeta:
    id: uuid.UUID
    ts_ms: int
    ttl_ms: int


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    count: int
    data: bytes
    meta: ChunkMeta


class _ChunkCodec(Struct):
    """bincode as a struct; JSON as serde writes ``Chunk``: ``{"chunk": [i, n], "data", "meta"}``."""

    __slots__ = ()

    def to_json(self, value: Chunk) -> dict:
        return {"chunk": [value.index, value.count], "data": list(value.data), "meta": CHUNK_META.to_json(value.meta)}

    def from_json(self, obj) -> Chunk:
        if type(obj) is not dict or type(obj.get("chunk")) is not list or len(obj["chunk"]) != 2:
            raise DecodeError("Chunk: expected {\"chunk\": [index, count], \"data\", \"meta\"}")
        index, count = (USIZE.from_json(x) for x in obj["chunk"])
        return Chunk(index, count, BYTES.from_json(obj.get("data")), CHUNK_META.from_json(obj.get("meta")))


CHUNK_META = Struct(ChunkMeta, ("id", UUID), ("ts_ms", U128), ("ttl_ms", USIZE))
CHUNK = _ChunkCodec(Chunk, ("index", USIZE), ("count", USIZE), ("data", BYTES), ("meta", CHUNK_META))
