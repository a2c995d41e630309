"""The native node process: config, node key, aiortc transport, JSON-RPC endpoint, logs."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..api_events import ApiEvent, Message
from ..client import start_client
from ..crypto import default_backend
from ..dht.storage import STORE_MAX_BYTES
from ..engine.config import Config
from ..errors import InvalidArgument
from ..session import LocalKeySigner
from ..wire.types import Signer

__all__ = ["NodeConfig", "init_config", "run_node"]


@dataclass
class NodeConfig:
    """What ``rings-web init`` writes (JSON); every field can be edited by hand."""

    key_file: str = "node.key"
    """File holding the node's secp256k1 key as 64 hex digits (mode 0600). Never printed."""
    bind: str = "127.0.0.1:50000"
    """host:port of the JSON-RPC endpoint; loopback by default."""
    ice_servers: list = field(default_factory=list)
    """STUN/TURN servers for WebRTC, each a URL (``"stun:stun.example.org:3478"``) or, as in a
    browser, ``{"urls": "turn:turn.example.org:3478", "username": …, "credential": …}``;
    empty means host candidates only."""
    host_addresses: list[str] = field(default_factory=list)
    """Offer host candidates on exactly these IPv4 addresses; empty lets aioice pick the
    interfaces, or 127.0.0.1 on a host that has no other (a browser on the same host connects)."""
    stabilize_interval_ms: int = 3000
    """Chord stabilization period (0.2.5 native default: 3 s)."""
    storage_file: str = "node.db"
    """sqlite file for stored VNodes; they survive a restart."""
    storage_max_bytes: int = STORE_MAX_BYTES
    """Bytes of VNode entries kept at most (owned and replicas); a store beyond it is refused."""
    services: list[dict] = field(default_factory=list)
    """HTTP services peers may call through this node (``sendHttpRequestMessage``):
    ``[{"name": "ipfs", "url": "http://127.0.0.1:5001"}]``; only these are reachable."""

    @classmethod
    def load(cls, path: str | Path) -> "NodeConfig":
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as e:
            raise InvalidArgument(f"cannot read config {path}: {e}") from None
        if not isinstance(data, dict):
            raise InvalidArgument(f"config {path} must be a JSON object")
        config = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        base = Path(path).resolve().parent  # relative paths are relative to the config file
        for name in ("key_file", "storage_file"):
            if not Path(getattr(config, name)).is_absolute():
                setattr(config, name, str(base / getattr(config, name)))
        return config


def init_config(path: str | Path, key_file: str | None = None) -> NodeConfig:
    """Write a config and a fresh node key next to it (refuses to overwrite a key)."""
    path = Path(path)
    config = NodeConfig(key_file=key_file or path.with_suffix(".key").name, storage_file=path.with_suffix(".db").name)
    key_path = path.parent / config.key_file
    if key_path.exists():
        raise InvalidArgument(f"{key_path} exists: not overwriting a node key")
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    path.write_text(json.dumps(asdict(config), indent=2) + "\n")
    return config


def _load_key(config: NodeConfig) -> str:
    secret = os.environ.get("RINGS_WEB_KEY")
    if secret:
        return secret
    try:
        return Path(config.key_file).read_text().strip()
    except OSError as e:
        raise InvalidArgument(f"cannot read the node key {config.key_file}: {e.strerror}") from None


def _log(event: str, fields: dict | None = None, **more) -> None:
    print(json.dumps({"event": event, **(fields or {}), **more}), file=sys.stderr, flush=True)


def _services(config: NodeConfig) -> dict[str, str]:
    try:
        services = {s["name"]: s["url"] for s in config.services}
    except (TypeError, KeyError) as e:
        raise InvalidArgument(f'config "services" must be [{{"name", "url"}}]: {e!r}') from None
    for name, url in services.items():
        if not isinstance(name, str) or not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise InvalidArgument(f"service {name!r}: url must be http(s), got {url!r}")
    return services


async def run_node(config: NodeConfig, stop: asyncio.Event | None = None) -> None:
    """Run until ``stop`` is set (or SIGINT/SIGTERM); prints one ``listening`` line on stdout."""
    from ..transport.aiortc import AiortcTransport, use_host_addresses
    from .http import HttpServer
    from .http_client import http_post_json
    from .services import HttpServices
    from .jsonrpc import JsonRpc, auth_token
    from .storage import open_store

    host, _, port = config.bind.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        raise InvalidArgument(f"bind must be host:port, got {config.bind!r}")
    if config.host_addresses:
        use_host_addresses(config.host_addresses)
    _more_descriptors()
    crypto = default_backend()
    secret = _load_key(config)
    signer = LocalKeySigner(secret, Signer.DEFAULT, crypto)  # 0.2.5 native: DEFAULT
    transport = AiortcTransport(config.ice_servers)
    client = await start_client(signer, transport, config=Config(stabilize_interval_ms=config.stabilize_interval_ms),
                                storage=open_store(config.storage_file, config.storage_max_bytes),
                                http_post=http_post_json, crypto=crypto)
    client.on(_log_event)
    token = auth_token(signer.sign_digest, crypto, client.address)  # by the node key (SPEC §7.2)
    rpc = JsonRpc(client, token, log=_log)
    HttpServices(client, _services(config), log=_log)
    server = HttpServer(rpc, host or "127.0.0.1", int(port), log=_log)
    await server.start()
    print(json.dumps({"event": "listening", "url": server.url, "did": client.address.hex()}), flush=True)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on the main thread
            pass
    await stop.wait()
    _log("stopping")
    await server.close()
    client.close()
    await transport.aclose()


def _more_descriptors() -> None:
    """Raise the soft descriptor limit to the hard one (the HTTP server admits half of it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1 << 16 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def _log_event(event: ApiEvent) -> None:
    if isinstance(event, Message):  # the size, not the bytes
        _log(event.name, {"from": event.origin.hex(), "txId": str(event.tx_id), "type": event.message_type},
             bytes=len(event.body))
    else:
        _log(event.name, event.to_json())
