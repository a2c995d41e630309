"""The ``rings-web`` command line (``python -m rings_web``)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid

from .. import __version__
from ..errors import RingsError

__all__ = ["main"]


def _read_inputs(args: list[str]) -> list[str]:
    if args and args != ["-"]:
        return args
    return [line for line in sys.stdin.read().split() if line]


def cmd_decode(ns: argparse.Namespace) -> int:
    from ..dissect import dissect, verdicts

    result = dissect(_read_inputs(ns.input), kind=ns.kind)
    print(result.json)
    if ns.verify:
        if result.payload is None:
            raise RingsError("--verify needs a payload (frame, bincode payload or handshake string)")
        now = ns.now if ns.now is not None else int(time.time() * 1000)
        checks = verdicts(result.payload, now)
        for name, ok, detail in checks:
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", file=sys.stderr)
        return 0 if all(ok for _, ok, _ in checks) else 1
    return 0


def cmd_demo(ns: argparse.Namespace) -> int:
    """Print a node identity and a signed, encoded message (the main job until the browser node)."""
    from ..crypto import default_backend
    from ..message import custom
    from ..message.payload import Verifier, decode_payload, direct, encode_payload, payload_to_json
    from ..session import LocalKeySigner, SessionManager
    from ..wire.chunk import Reassembler, split
    from ..wire.types import CustomMessage

    crypto = default_backend()
    now = int(time.time() * 1000)
    alice = LocalKeySigner(ns.key or os.urandom(32))
    bob = LocalKeySigner(os.urandom(32))
    sm = asyncio.run(SessionManager.create(alice, crypto=crypto, now=now, random_bytes=os.urandom))
    msg = CustomMessage(custom.backend_body(custom.BackendType.SimpleText, ns.text.encode()))
    payload = direct(sm, msg, destination=bob.address, now=now, tx_id=uuid.uuid4())
    frames = split(encode_payload(payload), uuid.uuid4(), now)
    print(f"crypto backend : {crypto.name}")
    print(f"wallet (DID)   : {sm.wallet.hex()}  signer {sm.session.auth.signer.name}")
    print(f"session key    : {sm.key.did.hex()}")
    print(f"message to     : {bob.address.hex()}  ({ns.text!r})")
    for i, f in enumerate(frames):
        print(f"frame {i} ({len(f)} bytes): {f.hex()}")
    received = Reassembler().receive(frames[0], now) if len(frames) == 1 else None
    if received is not None:
        origin = Verifier(crypto).verify(decode_payload(received), now)
        print(f"decoded back   : verified, origin {origin.hex()}")
    print(f"as handshake-string JSON: {payload_to_json(payload)}")
    return 0


def cmd_init(ns: argparse.Namespace) -> int:
    from .node import init_config

    config = init_config(ns.config)
    print(f"wrote {ns.config} and a new node key in {config.key_file} (mode 0600); VNodes go to {config.storage_file}")
    return 0


def cmd_run(ns: argparse.Namespace) -> int:
    from .node import NodeConfig, run_node

    config = NodeConfig.load(ns.config)
    if ns.bind:
        config.bind = ns.bind
    asyncio.run(run_node(config))
    return 0


def _rpc(ns: argparse.Namespace, method: str, params) -> object:
    """Call the running node named by ``--config`` (its bind address and key) over JSON-RPC."""
    import json
    import urllib.error
    import urllib.request

    from ..crypto import default_backend
    from ..session import LocalKeySigner
    from .jsonrpc import auth_token
    from .node import NodeConfig, _load_key

    config = NodeConfig.load(ns.config)
    signer = LocalKeySigner(_load_key(config))
    host, _, port = (ns.url or config.bind).removeprefix("http://").rstrip("/").rpartition(":")
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}).encode()
    req = urllib.request.Request(f"http://{host}:{port}/", data=body, headers={
        "content-type": "application/json", "x-signature": auth_token(signer.sign_digest, default_backend(), signer.address)})
    try:
        reply = json.loads(urllib.request.urlopen(req, timeout=30).read())
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise RingsError(f"cannot reach the node at {host}:{port}: {e}") from None
    if "error" in reply:
        raise RingsError(f"{reply['error'].get('message')} (JSON-RPC {reply['error'].get('code')})")
    return reply.get("result")


def cmd_client(ns: argparse.Namespace) -> int:
    import json

    params = {
        "info": lambda: ("nodeInfo", []),
        "peers": lambda: ("listPeers", []),
        "connect": lambda: ("connectPeerViaHttp", [ns.target]) if ns.target.startswith("http") else ("connectWithDid", [ns.target]),
        "send": lambda: ("sendSimpleText", [ns.did, ns.text]),
        "publish": lambda: ("publishMessageToTopic", [ns.topic, ns.text]),
        "fetch": lambda: ("fetchMessagesOfTopic", [ns.topic, ns.index]),
        "register": lambda: ("registerService", [ns.service]),
        "lookup": lambda: ("lookupService", [ns.service]),
    }[ns.command]()
    print(json.dumps(_rpc(ns, *params)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rings-web", description="rings-web: a Rings 0.2.5-compatible node in Python")
    parser.add_argument("--version", action="version", version=f"rings-web {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("decode", help="decode a frame (hex), handshake string or base58-monero-check string",
                       description="Print the canonical 0.2.5 JSON of a data-channel frame (hex; give every "
                                   "frame of a chunked message), a bincode payload (hex), a handshake string "
                                   "or a base58-monero-check string. Reads stdin when no input is given.")
    p.add_argument("input", nargs="*", help="the input (or '-' / nothing for stdin)")
    p.add_argument("--as", dest="kind", choices=["frame", "payload", "handshake", "base58"], help="skip guessing")
    p.add_argument("--verify", action="store_true", help="check every signature, the origin rule and expiry (to stderr)")
    p.add_argument("--now", type=int, help="ms since the epoch for the expiry check (default: the clock)")
    p.set_defaults(func=cmd_decode)

    p = sub.add_parser("init", help="write a node config and a new node key",
                       description="Write a JSON config (fields documented in rings_web.native.node.NodeConfig) "
                                   "and a fresh secp256k1 node key beside it (mode 0600, never printed).")
    p.add_argument("--config", default="rings-web.json", help="config file to write")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("run", help="run a native node: WebRTC (aiortc) + JSON-RPC endpoint",
                       description="Run the node until SIGINT/SIGTERM. Prints one JSON 'listening' line on stdout; "
                                   "structured JSON logs go to stderr. RINGS_WEB_KEY overrides the key file.")
    p.add_argument("--config", default="rings-web.json", help="config file (see init)")
    p.add_argument("--bind", help="host:port for JSON-RPC (default from the config, 127.0.0.1:50000)")
    p.set_defaults(func=cmd_run)

    client = argparse.ArgumentParser(add_help=False)
    client.add_argument("--config", default="rings-web.json", help="the running node's config (address and key)")
    client.add_argument("--url", help="the node's JSON-RPC address (default: bind from the config)")
    for name, helptext, args in [
        ("info", "the node's DID and peer count", []),
        ("peers", "connected peers", []),
        ("connect", "connect to a node: an http:// JSON-RPC URL or a DID (through the ring)", [("target", {})]),
        ("send", "send a text message to a DID", [("did", {}), ("text", {})]),
        ("publish", "append a text message to a topic", [("topic", {}), ("text", {})]),
        ("fetch", "the messages of a topic", [("topic", {}), ("index", {"type": int, "nargs": "?", "default": 0})]),
        ("register", "register this node under a service name", [("service", {})]),
        ("lookup", "the DIDs registered under a service name", [("service", {})]),
    ]:
        p = sub.add_parser(name, parents=[client], help=helptext, description=helptext.capitalize() + " (JSON-RPC to a running node).")
        for arg, kw in args:
            p.add_argument(arg, **kw)
        p.set_defaults(func=cmd_client)

    p = sub.add_parser("demo", help="print a node identity and a signed, encoded text message")
    p.add_argument("--text", default="hello rings", help="the message text")
    p.add_argument("--key", help="wallet private key (hex); a random one by default")
    p.set_defaults(func=cmd_demo)
    return parser


#: Modules of the ``native`` extra (``pip install 'rings-web[native]'``): what ``run`` needs beyond
#: the pure-Python base install, which stays dependency-free so that it loads in Pyodide.
NATIVE_MODULES = {"aiortc", "aioice", "av", "h11", "eth_account", "Crypto"}


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        return ns.func(ns)
    except RingsError as e:
        print(f"rings-web {ns.command}: {type(e).__name__}: {e}", file=sys.stderr)
    except ModuleNotFoundError as e:
        missing = (e.name or "?").split(".")[0]
        hint = ": pip install 'rings-web[native]'" if missing in NATIVE_MODULES else ""
        print(f"rings-web {ns.command}: needs the module {missing!r}{hint}", file=sys.stderr)
    except OSError as e:  # e.g. the address is in use
        print(f"rings-web {ns.command}: {e.strerror or e}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 2
