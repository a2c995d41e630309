"""``rings-web doctor``: a node's config checked as an operator would, one line per check.

Each check is bounded by ``timeout`` seconds: the node key, the TLS certificate, the host
candidates aiortc would offer, every STUN server (a binding request: the mapped address), every
TURN server (an allocation with the configured credentials, deleted again) and the JSON-RPC
endpoint (``GET /status`` at the bind address, if the node runs).  Uses aioice's own STUN and
TURN clients, so a check passes exactly when the node's ICE agent would get the same answer.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import ssl
from dataclasses import dataclass
from typing import Awaitable

from .node import NodeConfig, _load_key

__all__ = ["Check", "diagnose"]


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


async def diagnose(config: NodeConfig, timeout: float = 5.0) -> list[Check]:
    """Every check of the config, in order; each takes ``timeout`` seconds at most."""
    checks = [await _bounded("node key", _key(config), timeout)]
    if config.tls_cert or config.tls_key:
        checks.append(await _bounded("tls", _tls(config), timeout))
    checks.append(await _bounded("candidates", _candidates(config), timeout))
    first: set[str] = set()
    for url, entry in _ice_urls(config):
        note = ""
        kind = "stun" if url.startswith("stun") else "turn"
        if kind in first:  # aiortc's connection_kwargs: a single STUN and a single TURN server
            note = " (not used: aiortc takes only the first stun: and the first turn: URL)"
        first.add(kind)
        check = await _bounded(url, _stun(url) if kind == "stun" else _turn(url, entry), timeout)
        checks.append(Check(check.name, check.ok, check.detail + note))
    checks.append(await _bounded("json-rpc", _status(config), timeout))
    return checks


async def _bounded(name: str, work: Awaitable[str], timeout: float) -> Check:
    """``work`` returns the detail of a passing check; any exception fails it, with its reason."""
    try:
        return Check(name, True, await asyncio.wait_for(work, timeout))
    except asyncio.TimeoutError:
        return Check(name, False, f"no answer within {timeout:g} s")
    except Exception as e:  # the reason is the point of the line
        return Check(name, False, f"{type(e).__name__}: {e}"[:300])


async def _key(config: NodeConfig) -> str:
    from ..session import LocalKeySigner

    return f"did {LocalKeySigner(_load_key(config)).address.hex()}"


async def _tls(config: NodeConfig) -> str:
    from cryptography import x509

    from .http import tls_context

    tls_context(config.tls_cert, config.tls_key)  # present, PEM, and a matching pair
    with open(config.tls_cert, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    try:
        names = [str(n.value) for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value]
    except x509.ExtensionNotFound:
        names = []
    left = cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
    if left.total_seconds() <= 0:
        raise ValueError(f"the certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    return f"certificate for {', '.join(names) or 'no names'}, valid until {cert.not_valid_after_utc:%Y-%m-%d} ({left.days} days)"


async def _candidates(config: NodeConfig) -> str:
    import aioice

    from ..transport.aiortc import AiortcTransport, use_host_addresses

    if config.host_addresses:
        use_host_addresses(config.host_addresses)
    AiortcTransport()  # aioice's interfaces, or 127.0.0.1 when it finds none: as `run`
    conn = aioice.Connection(ice_controlling=True, components=1)
    try:
        await conn.gather_candidates()
        found = [f"{c.host}:{c.port}/{c.transport}" for c in conn.local_candidates]
    finally:
        await conn.close()
    if not found:
        raise ValueError("no host candidate: no usable IPv4 interface (set host_addresses)")
    return f"host {', '.join(found)}"


def _ice_urls(config: NodeConfig) -> list[tuple[str, dict]]:
    """Each configured STUN/TURN URL with its server's entry (checked as ``run`` does)."""
    from ..transport.aiortc import ice_server

    out = []
    for entry in config.ice_servers if isinstance(config.ice_servers, list) else [config.ice_servers]:
        server = ice_server(entry)  # InvalidArgument for a bad entry: the whole doctor says so
        urls = [server.urls] if isinstance(server.urls, str) else server.urls
        out += [(url, {"username": server.username, "credential": server.credential}) for url in urls]
    return out


class _StunClient(asyncio.DatagramProtocol):
    """Just enough of a STUN agent for aioice's ``stun.Transaction``."""

    def __init__(self) -> None:
        self.transactions: dict = {}

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        from aioice import stun

        try:
            message = stun.parse_message(data)
        except ValueError:
            return
        if message.transaction_id in self.transactions:
            self.transactions[message.transaction_id].response_received(message, addr)

    def send_stun(self, message, addr) -> None:
        self.transport.sendto(bytes(message), addr)


async def _stun(url: str) -> str:
    import socket

    from aioice import stun
    from aiortc.rtcicetransport import parse_stun_turn_uri

    parsed = parse_stun_turn_uri(url)
    if parsed["scheme"] != "stun":
        raise ValueError("aiortc uses stun: URLs only (no stuns:)")
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(_StunClient, family=socket.AF_INET, local_addr=("0.0.0.0", 0))
    try:
        server = (await loop.getaddrinfo(parsed["host"], parsed["port"], family=socket.AF_INET))[0][4][:2]
        request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
        client.transactions[request.transaction_id] = stun.Transaction(request, server, client)
        response, _ = await client.transactions[request.transaction_id].run()
    finally:
        transport.close()
    host, port = response.attributes["XOR-MAPPED-ADDRESS"]
    return f"mapped address {host}:{port}"


class _Relayed(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.closed = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def _turn(url: str, credentials: dict) -> str:
    from aioice import stun, turn
    from aiortc.rtcicetransport import parse_stun_turn_uri

    parsed = parse_stun_turn_uri(url)
    try:
        transport, relayed = await turn.create_turn_endpoint(
            _Relayed, (parsed["host"], parsed["port"]), credentials["username"], credentials["credential"],
            ssl=ssl.create_default_context() if parsed["scheme"] == "turns" else None, transport=parsed["transport"])
    except stun.TransactionFailed as e:
        code = e.response.error_code
        why = " (wrong username or credential?)" if code == 401 else ""
        raise ConnectionError(f"allocation refused: {e}{why}") from None
    detail = f"allocation ok over {parsed['transport']}: relayed {_addr(transport.get_extra_info('sockname'))}, " \
             f"mapped {_addr(transport.get_extra_info('related_address'))}"
    transport.close()  # deletes the allocation
    await relayed.closed
    return detail


def _addr(address) -> str:
    return f"{address[0]}:{address[1]}" if address else "?"


async def _status(config: NodeConfig) -> str:
    from ..session import LocalKeySigner
    from .http_client import node_url

    url = node_url(config, None)
    host, _, port = url.split("://")[1].rstrip("/").rpartition(":")
    context = None
    if url.startswith("https"):  # reachability: the tls check looked at the certificate itself
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        reader, writer = await asyncio.open_connection(host.strip("[]"), int(port), ssl=context)
    except OSError as e:
        raise ConnectionError(f"nothing answers at {url} ({e.strerror or type(e).__name__}): is the node running?") from None
    try:
        writer.write(f"GET /status HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        raw = await reader.read(1 << 16)
        while chunk := await reader.read(1 << 16):
            raw += chunk
            if len(raw) > 1 << 16:
                break
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        line = head.split(b"\r\n")[0][:80]
        raise ConnectionError(f"{url}status answered {line!r}, not 200")
    did = json.loads(body).get("did")
    mine = LocalKeySigner(_load_key(config)).address.hex()
    if did != mine:
        raise ValueError(f"{url} is another node (did {did}), not this config's ({mine})")
    return f"{url}status answered: this node, did {did}"
