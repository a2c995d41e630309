"""The native node's HTTP endpoint under hostile load: a real ``rings-web run`` on 127.0.0.1.

    unshare -n sh -c 'ip link set lo up && exec .venv/bin/python bench/bench_http.py [--clients 1000]'

Prints: signed ``connectPeerViaHttp`` to a never-ending reply (time to its error, the node's
RSS growth), forty calls to trickling targets at once (a later call still answered; SIGTERM
still ends the node), and N clients sending a header byte every 20 s (time until the node has
shed them all, ``nodeInfo`` latency meanwhile), then 1.5 N of them (over the connection cap).
Figures only, no assertions (targets live in issue 14). Needs scripts/setup.sh first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from test_http_hardening import endless, target  # noqa: E402  (the tests' hostile targets)

from rings_web.crypto import default_backend  # noqa: E402
from rings_web.native.jsonrpc import auth_token  # noqa: E402
from rings_web.session import LocalKeySigner  # noqa: E402


def row(what: str, value: str, note: str = "") -> None:
    print(f"{what:<52} {value:>14}  {note}", flush=True)


class Node:
    """``rings-web run`` in a child process, with its token and its RSS."""

    def __init__(self, workdir: Path) -> None:
        cfg = workdir / "node.json"
        subprocess.run([sys.executable, "-m", "rings_web", "init", "--config", str(cfg)], check=True, capture_output=True)
        config = json.loads(cfg.read_text())
        cfg.write_text(json.dumps({**config, "host_addresses": ["127.0.0.1"]}))
        self.log = workdir / "stderr.log"
        with self.log.open("w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "rings_web", "run", "--config", str(cfg), "--bind", "127.0.0.1:0"],
                                         stdout=subprocess.PIPE, stderr=err, text=True)
        hello = json.loads(self.proc.stdout.readline())
        self.port = int(hello["url"].rstrip("/").rpartition(":")[2])
        signer = LocalKeySigner((workdir / config["key_file"]).read_text().strip())
        self.token = auth_token(signer.sign_digest, default_backend(), signer.address)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    async def rpc(self, method: str, params: list, signed: bool = True, timeout: float = 60) -> dict:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}).encode()
        head = (f"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n" + (f"X-SIGNATURE: {self.token}\r\n" if signed else "") + "\r\n")
        writer.write(head.encode() + body)
        try:
            data = await asyncio.wait_for(reader.read(), timeout)
        finally:
            writer.close()
        return json.loads(data.partition(b"\r\n\r\n")[2])

    def stop(self) -> float:
        t0 = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            return float("inf")
        return time.perf_counter() - t0


async def trickle(reader, writer) -> None:
    for _ in range(120):
        writer.write(b"H")
        await writer.drain()
        await asyncio.sleep(1)


async def peak_rss(node: Node, until: asyncio.Future) -> float:
    peak = node.rss_mb()
    while not until.done():
        peak = max(peak, node.rss_mb())
        await asyncio.sleep(0.02)
    return peak


async def reaching_out(workdir: Path) -> None:
    node = Node(workdir / "a")
    base = node.rss_mb()
    server, url = await target(endless)
    t0 = time.perf_counter()
    call = asyncio.ensure_future(node.rpc("connectPeerViaHttp", [url]))
    peak = await peak_rss(node, call)
    reply = call.result()
    row("connectPeerViaHttp → never-ending reply: error in", f"{(time.perf_counter() - t0) * 1000:.0f} ms",
        reply.get("error", {}).get("message", "no error?")[:60])
    row("  node RSS growth (peak)", f"{peak - base:.1f} MB", f"{base:.0f} MB before")
    server.close()

    slow, slow_url = await target(trickle)
    fast, fast_url = await target(endless)
    t0 = time.perf_counter()
    calls = [asyncio.ensure_future(node.rpc("connectPeerViaHttp", [slow_url])) for _ in range(40)]
    await asyncio.sleep(1)
    t1 = time.perf_counter()
    later = await node.rpc("connectPeerViaHttp", [fast_url])
    row("40 calls to trickling targets; a later call answered", f"{(time.perf_counter() - t1) * 1000:.0f} ms",
        later.get("error", {}).get("message", "")[:60])
    done = await asyncio.gather(*calls)
    row("  the 40 trickling calls end (30 s deadline) after", f"{time.perf_counter() - t0:.1f} s",
        f"{sum('error' in d for d in done)} errors")
    calls = [asyncio.ensure_future(node.rpc("connectPeerViaHttp", [slow_url])) for _ in range(40)]
    await asyncio.sleep(1)
    row("  SIGTERM with 40 trickling calls pending: exit in", f"{node.stop():.2f} s")
    await asyncio.gather(*calls, return_exceptions=True)
    slow.close()
    fast.close()


async def slow_header(port: int, shed: list, opened: list) -> None:
    """A header byte every 20 s; records when the node hangs up."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        shed.append(time.perf_counter())
        return
    opened.append(1)
    try:
        for b in b"POST / HTTP/1.1\r\nHost: x\r\n":
            writer.write(bytes([b]))
            await writer.drain()
            try:
                if await asyncio.wait_for(reader.read(1024), 20) == b"":
                    break
            except asyncio.TimeoutError:
                pass
    except ConnectionError:
        pass
    finally:
        shed.append(time.perf_counter())
        writer.close()


async def attack(port: int, n: int) -> None:
    """The slow clients, in a process of their own (so that the probe's figures are the node's):
    prints one JSON line when the node has shed them all."""
    shed: list = []
    opened: list = []
    t0 = time.perf_counter()
    await asyncio.gather(*[slow_header(port, shed, opened) for _ in range(n)])
    print(json.dumps({"shed_s": max(shed) - t0, "connected": len(opened)}), flush=True)


async def slow_clients(workdir: Path, n: int) -> None:
    node = Node(workdir)
    base = node.rss_mb()
    attacker = await asyncio.create_subprocess_exec(sys.executable, __file__, "--attack", str(node.port), "--clients", str(n),
                                                    stdout=asyncio.subprocess.PIPE)
    done = asyncio.ensure_future(attacker.stdout.readline())
    latencies, failures, t0 = [], 0, time.perf_counter()
    while not done.done() and time.perf_counter() - t0 < 120:
        t1 = time.perf_counter()
        try:
            reply = await node.rpc("nodeInfo", [], signed=False, timeout=5)
            failures += "result" not in reply
        except (OSError, asyncio.TimeoutError, ValueError):
            failures += 1
        latencies.append(time.perf_counter() - t1)
        await asyncio.sleep(0.25)
    rss = node.rss_mb()
    result = json.loads(await done)
    await attacker.wait()
    row(f"{n} clients, a header byte every 20 s: all shed in", f"{result['shed_s']:.1f} s", f"{result['connected']} connected")
    row("  nodeInfo meanwhile (probed 4/s): max / median", f"{max(latencies) * 1000:.0f} / {statistics.median(latencies) * 1000:.0f} ms",
        f"{len(latencies)} calls, {failures} failed")
    row("  node RSS", f"{rss:.0f} MB", f"{base:.0f} MB before")
    node.stop()
    log = node.log.read_text()
    floods = [line for line in log.splitlines() if "HttpFlood" in line]
    row("  node's stderr: flood lines / bytes", f"{len(floods)} / {len(log)}", (floods[0][:60] if floods else ""))


async def main(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the clients' sockets, and the node's (inherited)
    row("RLIMIT_NOFILE", str(hard))
    with tempfile.TemporaryDirectory() as tmp:
        for sub in ("a", "b", "c"):
            (Path(tmp) / sub).mkdir()
        await reaching_out(Path(tmp))
        await slow_clients(Path(tmp) / "b", n)
        await slow_clients(Path(tmp) / "c", n * 3 // 2)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--attack", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    asyncio.run(attack(args.attack, args.clients) if args.attack else main(args.clients))
