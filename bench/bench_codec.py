"""Codec and crypto speed per backend: a 1 KB custom-message payload, per second.

Prints figures (no assertions).  Runs on CPython, and inside Pyodide through
bench/bench_pyodide.mjs (which registers the JS crypto shim first).

    .venv/bin/python bench/bench_codec.py [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid

from rings_web.crypto import available_backends
from rings_web.did import Did
from rings_web.message.custom import BackendType, backend_body
from rings_web.message.payload import Verifier, decode_payload, direct, encode_payload, pack_msg
from rings_web.session import LocalKeySigner
from rings_web.session.manager import SessionManager
from rings_web.wire.chunk import Reassembler, split
from rings_web.wire.types import CustomMessage

KEY = "65860affb4b570dba06db294aa7c676f68e04a5bf2721243ad3cbc05a79c68c0"
NOW = 1_795_339_300_500


def rate(fn, seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and n >= 3:
            return n / elapsed


def session_for(crypto) -> SessionManager:
    """A session signed by a local wallet (its coroutine never suspends: drive it directly)."""
    rng = random.Random(1)
    coro = SessionManager.create(LocalKeySigner(KEY, crypto=crypto), crypto=crypto, now=NOW, random_bytes=rng.randbytes)
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("local signer suspended")


def bench_backend(crypto, seconds: float) -> dict:
    sm = session_for(crypto)
    body = CustomMessage(backend_body(BackendType.SimpleText, bytes(random.Random(2).randbytes(1024))))
    dest = Did(12345)
    make = lambda: direct(sm, body, destination=dest, now=NOW, tx_id=uuid.uuid4())
    payload = make()
    raw = encode_payload(payload)
    frames = split(raw, uuid.uuid4(), NOW)
    verifier = Verifier(crypto, replay_capacity=1)
    verifier.verify(payload, NOW)  # wallet signature checked once per session, then cached

    def verify_fresh():
        verifier._seen.clear()
        verifier.verify(payload, NOW)

    digest = crypto.keccak256(b"x")
    sig = crypto.secp256k1_sign(digest, sm.key.secret)
    out = {
        "backend": crypto.name,
        "payload_bytes": len(raw),
        "sign_and_encode_per_s": rate(lambda: encode_payload(make()), seconds),
        "encode_only_per_s": rate(lambda: encode_payload(payload), seconds),
        "decode_per_s": rate(lambda: decode_payload(raw), seconds),
        "reassemble_and_decode_per_s": rate(lambda: decode_payload(Reassembler().receive(frames[0], NOW)), seconds),
        "verify_per_s": rate(verify_fresh, seconds),
        "pack_msg_per_s": rate(lambda: pack_msg(body, NOW, 300_000), seconds),
        "keccak_1k_per_s": rate(lambda: crypto.keccak256(raw[:1024]), seconds),
        "secp256k1_sign_per_s": rate(lambda: crypto.secp256k1_sign(digest, sm.key.secret), seconds),
        "secp256k1_recover_per_s": rate(lambda: crypto.secp256k1_recover(digest, sig), seconds),
    }
    return out


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--backend", action="append", help="only these backends")
    ns = ap.parse_args(argv)
    results = []
    for crypto in available_backends():
        if ns.backend and crypto.name not in ns.backend:
            continue
        r = bench_backend(crypto, ns.seconds)
        results.append(r)
        print(f"[{sys.platform}] {r['backend']:8s} " + "  ".join(f"{k.removesuffix('_per_s')}={v:,.0f}/s" for k, v in r.items() if k.endswith("_per_s")), flush=True)
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
