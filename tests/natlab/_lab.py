"""A NAT lab: network namespaces joined by veth pairs, two LANs behind NATing routers, coturn.

Built from inside the loopback-only namespace of scripts/test.sh; no namespace is named under
/run (each is held by a small process and entered with ``nsenter -t PID -n``), and nothing
is ever connected to the namespace the tests run in.  Documentation addresses only::

    turn 203.0.113.1 (coturn: STUN + TURN, UDP and TCP 3478)   seed 203.0.113.2
         \\                                                   /
          +---- wan: bridge 203.0.113.254 (forwards nothing) ----+
         /                                                     \\
    ra wan 203.0.113.11, lan 198.51.100.1            rb wan 203.0.113.12, lan 192.0.2.1
         |                                                     |
    a 198.51.100.2                                      b 192.0.2.2

Every process the lab starts runs under ``timeout`` (``LIMIT`` seconds), so it ends by itself
even if the tests die; :meth:`Lab.close` ends them all at once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

LIMIT = 900  # s: the longest any lab process may live (the lab's tests take 1.5-4 min here)
TURN_IP, SEED_IP, UPSTREAM_IP = "203.0.113.1", "203.0.113.2", "203.0.113.254"
WAN_IP = {"ra": "203.0.113.11", "rb": "203.0.113.12"}
LAN = {"a": ("ra", "198.51.100"), "b": ("rb", "192.0.2")}  # host -> (its router, its /24)
TURN_USER, TURN_PASSWORD = "lab", "lab-secret"


def missing_requirement() -> str | None:
    """Why the lab cannot be built here, or None."""
    from _support import only_loopback

    if os.geteuid() != 0:
        return "the NAT lab needs root (network namespaces, iptables)"
    if not only_loopback():
        return "the NAT lab is built only from a loopback-only network namespace (scripts/test.sh)"
    for tool, package in (("iptables", "iptables"), ("turnserver", "coturn"), ("nsenter", "util-linux"),
                          ("ip", "iproute2")):
        if not shutil.which(tool):
            return f"{tool} is not installed (apt-get install {package}; scripts/setup.sh does)"
    return None


class Lab:
    """The namespaces and links above; :meth:`nat` sets the routers' rules for each case."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.holders: dict[str, subprocess.Popen] = {}
        self.procs: list[subprocess.Popen] = []
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    # -- namespaces ----------------------------------------------------------------------------
    def pid(self, ns: str) -> int:
        return self.holders[ns].pid

    def prefix(self, ns: str) -> list[str]:
        """The command prefix that runs a program inside ``ns``."""
        return ["nsenter", "-t", str(self.pid(ns)), "-n"]

    def sh(self, ns: str, *commands: str) -> None:
        """Run shell commands inside ``ns``; any failure raises with its output."""
        for command in commands:
            out = subprocess.run([*self.prefix(ns), "sh", "-c", command], capture_output=True, text=True, timeout=30)
            if out.returncode:
                raise RuntimeError(f"[{ns}] {command}: exit {out.returncode}: {out.stderr.strip()}")

    def spawn(self, ns: str, argv: list[str], **popen) -> subprocess.Popen:
        """Start a program inside ``ns``, bounded by ``LIMIT``; :meth:`close` ends it."""
        proc = subprocess.Popen([*self.prefix(ns), "timeout", str(LIMIT), *argv], **popen)
        self.procs.append(proc)
        return proc

    def _namespace(self, name: str) -> None:
        # the holder is the namespace's first process: cat exits when the lab closes its stdin
        holder = subprocess.Popen(["unshare", "-n", "timeout", str(LIMIT), "cat"], stdin=subprocess.PIPE)
        self.holders[name] = holder
        for _ in range(100):  # unshare has switched namespaces once its net link differs from ours
            if os.readlink(f"/proc/{holder.pid}/ns/net") != os.readlink("/proc/self/ns/net"):
                break
            time.sleep(0.01)
        else:
            raise RuntimeError(f"namespace {name} did not come up")
        self.sh(name, "ip link set lo up")

    def _veth(self, a: str, a_if: str, b: str, b_if: str) -> None:
        self.sh(a, f"ip link add {a_if} type veth peer name {b_if} netns {self.pid(b)}")

    def _build(self) -> None:
        for name in ("wan", "turn", "seed", "ra", "rb", "a", "b"):
            self._namespace(name)
        self.sh("wan", "ip link add br0 type bridge", f"ip addr add {UPSTREAM_IP}/24 dev br0", "ip link set br0 up")
        public = {"turn": ("eth0", TURN_IP), "seed": ("eth0", SEED_IP), "ra": ("wan", WAN_IP["ra"]),
                  "rb": ("wan", WAN_IP["rb"])}
        for ns, (ifname, ip) in public.items():
            self._veth("wan", f"p-{ns}", ns, ifname)
            self.sh("wan", f"ip link set p-{ns} master br0", f"ip link set p-{ns} up")
            # a default route on the public side, or coturn cannot relay (ENETUNREACH, RECIPES.md)
            self.sh(ns, f"ip addr add {ip}/24 dev {ifname}", f"ip link set {ifname} up",
                    f"ip route add default via {UPSTREAM_IP}")
        for host, (router, net) in LAN.items():
            self._veth(router, "lan", host, "eth0")
            self.sh(router, f"ip addr add {net}.1/24 dev lan", "ip link set lan up", "sysctl -qw net.ipv4.ip_forward=1")
            self.sh(host, f"ip addr add {net}.2/24 dev eth0", "ip link set eth0 up", f"ip route add default via {net}.1")
        self.turn = self.spawn("turn", [
            "turnserver", "-n", f"--listening-ip={TURN_IP}", f"--relay-ip={TURN_IP}", "--lt-cred-mech", "--no-cli",
            f"--user={TURN_USER}:{TURN_PASSWORD}", "--realm=lab", "--no-tls", "--no-dtls", "--fingerprint",
            f"--db={self.dir / 'turndb'}", f"--pidfile={self.dir / 'turn.pid'}", "--log-file=stdout", "--simple-log"],
            stdout=open(self.dir / "turn.log", "w"), stderr=subprocess.STDOUT)
        for _ in range(100):  # coturn writes its pid file once it listens (~0.1 s)
            if (self.dir / "turn.pid").exists() or self.turn.poll() is not None:
                break
            time.sleep(0.1)
        if not (self.dir / "turn.pid").exists():
            raise RuntimeError(f"coturn did not start: {(self.dir / 'turn.log').read_text()[-1000:]}")

    # -- the routers ---------------------------------------------------------------------------
    def nat(self, router: str, kind: str, block_udp: bool = False) -> None:
        """Set ``router``'s rules: ``cone`` (MASQUERADE keeps the source port: port-restricted
        cone) or ``symmetric`` (``--random-fully``: a new port per destination); inbound WAN
        traffic that answers nothing is dropped, as a home router does (without that the
        peer's early checks leave conntrack entries that make MASQUERADE pick other ports and
        hole punching fails, RECIPES.md).  ``block_udp``: the router forwards no UDP at all
        (a corporate firewall)."""
        assert kind in ("cone", "symmetric")
        random = " --random-fully" if kind == "symmetric" else ""
        rules = ["iptables -F", "iptables -t nat -F",
                 f"iptables -t nat -A POSTROUTING -o wan -j MASQUERADE{random}"]
        for chain in ("INPUT", "FORWARD"):
            rules += [f"iptables -A {chain} -i wan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
                      f"iptables -A {chain} -i wan -j DROP"]
        if block_udp:
            rules.append("iptables -I FORWARD -p udp -j DROP")
        self.sh(router, *rules)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for holder in self.holders.values():
            holder.stdin.close()
            try:
                holder.wait(timeout=10)
            except subprocess.TimeoutExpired:
                holder.kill()
                holder.wait(timeout=10)
