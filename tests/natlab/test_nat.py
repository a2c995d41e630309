"""rings-web through NATs: the lab of ``_lab.py`` (namespaces, iptables routers, coturn), a
native seed on the public segment, and a headless Chromium in each LAN.

Each case sets the routers' rules, opens a rings-web page in each LAN, lets both join through
the seed over HTTP, then links them with ``connectWithAddress`` and sends a text.  Which way
the link went is what ``getPeer`` tells (``pair``: the selected candidate pair's types), checked
against the page's own ``RTCPeerConnection`` stats, which also give the addresses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))  # the genuine node's driver

from _genuine import Genuine  # noqa: E402
from _genuine import missing_requirement as genuine_missing  # noqa: E402
from _lab import LIMIT, LAN, SEED_IP, TURN_IP, TURN_PASSWORD, TURN_USER, WAN_IP, Lab, missing_requirement
from _pages import CHROMIUM, FLAGS, REPO, PageError, ready
from _pages import missing_requirement as pages_missing
from _peers import GenuinePeer, PagePeer, connect_to_genuine
from _support import wait_until
from rings_web.did import Did
from rings_web.session import LocalKeySigner

RINGS = [sys.executable, "-m", "rings_web"]
pytestmark = [pytest.mark.browser, pytest.mark.cpython_only]
# no stabilization round on the pages during a case: the only link between the two LANs is the
# one the case makes (the seed, the only other node, keeps 0.2.5's 3 s)
STABILIZE_MS = 600_000

STUN = {"urls": f"stun:{TURN_IP}:3478"}
TURN_UDP = {"urls": f"turn:{TURN_IP}:3478?transport=udp", "username": TURN_USER, "credential": TURN_PASSWORD}
TURN_TCP = {"urls": f"turn:{TURN_IP}:3478?transport=tcp", "username": TURN_USER, "credential": TURN_PASSWORD}

# Every RTCPeerConnection the page makes, kept for getStats (rings-web does not expose them)
RECORD_PCS = """
window.labPeerConnections = [];
window.RTCPeerConnection = class extends window.RTCPeerConnection {
  constructor(...args) { super(...args); window.labPeerConnections.push(this); }
};
"""
# The selected candidate pair of every connected peer connection, local and remote candidate
SELECTED_PAIRS = """async () => {
  const out = [];
  for (const pc of window.labPeerConnections) {
    if (pc.connectionState !== "connected") continue;
    const stats = new Map();
    (await pc.getStats()).forEach((s) => stats.set(s.id, s));
    const transport = [...stats.values()].find((s) => s.type === "transport" && s.selectedCandidatePairId);
    const pair = transport && stats.get(transport.selectedCandidatePairId);
    if (!pair) continue;
    const side = (id) => { const c = stats.get(id);
      return { type: c.candidateType, address: c.address, port: c.port, protocol: c.protocol,
               relayProtocol: c.relayProtocol ?? null }; };
    out.push({ local: side(pair.localCandidateId), remote: side(pair.remoteCandidateId) });
  }
  return out;
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    reason = missing_requirement() or pages_missing()
    if reason:
        pytest.skip(reason)
    lab = Lab(tmp_path_factory.mktemp("natlab"))
    yield lab
    lab.close()


def run_native(lab, ns: str, name: str, bind: str, key: str | None = None):
    """``rings-web run`` in namespace ``ns`` (STUN configured): (process, config file, its
    ``listening`` line: ``url``, ``did``).  The lab ends it, if the test does not."""
    config = lab.dir / f"{name}.json"
    subprocess.run([*RINGS, "init", "--config", str(config)], check=True, capture_output=True, timeout=60)
    if key:
        config.with_suffix(".key").write_text(key + "\n")
    config.write_text(json.dumps({**json.loads(config.read_text()), "bind": bind, "ice_servers": [STUN]}))
    proc = lab.spawn(ns, [*RINGS, "run", "--config", str(config)], stdout=subprocess.PIPE,
                     stderr=open(lab.dir / f"{name}.log", "w"), text=True)
    line = proc.stdout.readline()
    assert line, (lab.dir / f"{name}.log").read_text()
    return proc, config, json.loads(line)


@pytest.fixture(scope="module")
def seed(lab):
    """``rings-web run`` on the public segment (203.0.113.2): its ``url`` (JSON-RPC) and ``did``."""
    return run_native(lab, "seed", "seed", f"{SEED_IP}:50000")[2]


@pytest.fixture(scope="module")
def lans(lab):
    """host ("a", "b") -> (browser context, site): a Chromium running in that LAN's namespace,
    and the test-page server at 127.0.0.1 of the same namespace.  One context per LAN for the
    whole module: after the first page, each page boots from its Pyodide snapshot (≈12 s cold
    here under load, ≈2 s warm)."""
    from playwright.sync_api import sync_playwright

    lans = {}
    with sync_playwright() as p:
        for host in LAN:
            site = lab.spawn(host, ["node", str(REPO / "js" / "testnet.mjs"), "serve"], cwd=REPO, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            url = json.loads(site.stdout.readline())["url"]
            chromium = lab.dir / f"chromium-{host}"  # Playwright drives it over pipes, whatever its network
            chromium.write_text(f'#!/bin/sh\nexec {" ".join(lab.prefix(host))} {CHROMIUM} "$@"\n')
            chromium.chmod(0o755)
            # no 127.0.0.1 candidates here (real browsers offer none): with them, no pair through
            # TURN ever succeeded in this lab
            args = [f for f in FLAGS if f != "--allow-loopback-in-peer-connection"]
            browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=args)
            context = browser.new_context(permissions=["camera", "microphone"])  # all host addresses, no mDNS
            context.add_init_script(RECORD_PCS)
            lans[host] = context, url
        yield lans
        for context, _ in lans.values():
            context.browser.close()


@pytest.fixture
def open_page(lans):
    """``open_page(host, ice, key, policy)``: a rings-web page in that LAN, with those ICE servers
    and ``iceTransportPolicy``; closed after the test, which fails on any page error."""
    opened, errors = [], []

    def open_page(host: str, ice: list, key: str, policy: str = "all"):
        context, url = lans[host]
        page = context.new_page()
        opened.append(page)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/node.html?{urlencode({'key': key, 'stabilize': STABILIZE_MS, 'ice': json.dumps(ice), 'policy': policy})}")
        page.wait_for_function("window.ready || window.bootError", timeout=120_000)
        page = ready(page)
        page.address = page.evaluate("window.node.address")
        return page

    yield open_page
    for page in opened:
        page.close()
    assert not errors, errors


def keys_apart(seed_did: str) -> tuple[str, str]:
    """Keys for A and B such that B, the seed and A lie in this clockwise order: B's join
    lookup then names the seed as its successor, and the ring links nothing between A and B."""
    seed = Did.parse(seed_did)
    while True:
        ka, kb = os.urandom(32).hex(), os.urandom(32).hex()
        if seed.in_range(int(LocalKeySigner(kb).address), int(LocalKeySigner(ka).address)):
            return ka, kb


def join(page, seed: dict) -> None:
    """The page bootstraps from the seed over HTTP (JSON-RPC ``answerOffer``)."""
    page.api("connectPeerViaHttp", seed["url"])
    assert wait_until(lambda: page.api("getPeer", seed["did"]), 20), "the page did not link to the seed"


def two_pages(open_page, seed: dict, ice_a: list, ice_b: list, policy_a: str = "all"):
    """A page in each LAN, both joined through the seed, not linked to each other."""
    key_a, key_b = keys_apart(seed["did"])
    a, b = open_page("a", ice_a, key_a, policy_a), open_page("b", ice_b, key_b)
    join(a, seed)
    join(b, seed)
    assert a.api("getPeer", b.address) is None and b.api("getPeer", a.address) is None
    return a, b


def selected_pair(page, not_to: str = SEED_IP) -> dict:
    """The selected candidate pair of the page's one connected link whose remote end is not at
    ``not_to`` (the seed): ``{"local": {type, address, port, protocol, relayProtocol}, "remote": …}``."""
    found = [p for p in page.evaluate(SELECTED_PAIRS) if p["remote"]["address"] != not_to]
    assert len(found) == 1, found
    return found[0]


def arrived(page, text: str) -> dict:
    """The page's message event that carries ``text``, waited for (10 s at most)."""
    got = wait_until(lambda: [e["detail"] for e in page.events("message") if e["detail"].get("text") == text], 10)
    assert got, f"{text!r} did not arrive"
    return got[0]


def link_and_talk(a, b) -> tuple[dict, dict]:
    """A links to B through the ring and sends a text, which arrives directly (a path of one);
    then (A's selected pair, B's selected pair), after checking ``getPeer``'s types against them."""
    a.api("connectWithAddress", b.address)  # resolves when the link is up
    a.api("sendSimpleTextMessage", b.address, "through the NAT")
    assert arrived(b, "through the NAT")["path"] == [a.address]  # no node between: a direct link
    pairs = selected_pair(a), selected_pair(b)
    for page, far, pair in ((a, b, pairs[0]), (b, a, pairs[1])):
        told = page.api("getPeer", far.address)["pair"]
        assert told == {"local": pair["local"]["type"], "remote": pair["remote"]["type"],
                        "protocol": pair["local"]["protocol"]}, (told, pair)
    return pairs


# UDP port probes: the listener prints the source port each of its two ports saw
PROBE_LISTEN = """
import socket, sys
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for port, s in enumerate(socks, 4000):
    s.bind((sys.argv[1], port)); s.settimeout(10)
print("ready", flush=True)
for s in socks:
    print(s.recvfrom(64)[1][1], flush=True)
"""
PROBE_SEND = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", int(sys.argv[2])))
for port in (4000, 4001):
    s.sendto(b"probe", (sys.argv[1], port))
"""


@pytest.mark.parametrize("kind", ["cone", "symmetric"])
def test_the_routers_map_ports_as_their_kind_says(lab, kind):
    lab.nat("ra", kind)
    listener = lab.spawn("seed", [sys.executable, "-c", PROBE_LISTEN, SEED_IP], stdout=subprocess.PIPE, text=True)
    assert listener.stdout.readline() == "ready\n"
    source = {"cone": 40000, "symmetric": 40001}[kind]
    subprocess.run([*lab.prefix("a"), sys.executable, "-c", PROBE_SEND, SEED_IP, str(source)], check=True, timeout=30)
    ports = [int(listener.stdout.readline()) for _ in range(2)]
    assert listener.wait(timeout=10) == 0
    # cone: one mapping for every destination, with the source port kept; symmetric: one per destination
    assert (ports == [source, source]) if kind == "cone" else (ports[0] != ports[1]), ports


def test_cone_nats_link_directly_through_stun(lab, seed, open_page):
    lab.nat("ra", "cone")
    lab.nat("rb", "cone")
    a, b = two_pages(open_page, seed, [STUN], [STUN])
    to_b, to_a = link_and_talk(a, b)
    # server-reflexive both ways: each NAT's mapping, learnt from STUN, hole-punched from both sides
    assert (to_b["local"]["type"], to_b["remote"]["type"]) == ("srflx", "srflx"), to_b
    assert (to_b["local"]["address"], to_b["remote"]["address"]) == (WAN_IP["ra"], WAN_IP["rb"]), to_b
    assert (to_a["local"], to_a["remote"]) == (to_b["remote"], to_b["local"]), (to_a, to_b)


def test_symmetric_nats_link_through_a_turn_relay(lab, seed, open_page):
    lab.nat("ra", "symmetric")
    lab.nat("rb", "symmetric")
    a, b = two_pages(open_page, seed, [STUN, TURN_UDP], [STUN, TURN_UDP])
    to_b, to_a = link_and_talk(a, b)
    # one end is a relay on coturn; the other is a NAT mapping (prflx: made for that relay)
    for pair in (to_b, to_a):
        ends = {pair["local"]["type"]: pair["local"], pair["remote"]["type"]: pair["remote"]}
        assert "relay" in ends and ends["relay"]["address"] == TURN_IP, pair


def test_symmetric_nats_without_turn_fail_cleanly(lab, seed, open_page):
    lab.nat("ra", "symmetric")
    lab.nat("rb", "symmetric")
    a, b = two_pages(open_page, seed, [STUN], [STUN])
    with pytest.raises(PageError) as failed:  # ICE given up 6 s after the answer: before the 10 s request timeout
        a.api("connectWithAddress", b.address)
    # the reason: no pair of the host and NAT-mapped candidates got through, and no relay was offered
    reason = str(failed.value).removeprefix("ConnectionFailed: ")
    assert failed.value.name == "ConnectionFailed", failed.value
    assert reason.startswith("ICE failed: no candidate pair succeeded within 6 s"), reason
    assert "local candidates: host, srflx; remote: host, srflx" in reason, reason
    assert reason.endswith("neither side has a relay candidate: configure a TURN server"), reason
    assert {"did": b.address, "reason": reason} in [e["detail"] for e in a.events("peer:failed")]
    told = wait_until(lambda: [e["detail"] for e in b.events("peer:failed")], 10)  # B gives up on its own
    assert told and told[0]["did"] == a.address and "configure a TURN server" in told[0]["reason"], told
    assert a.api("getPeer", b.address) is None and b.api("getPeer", a.address) is None
    assert [p for p in a.evaluate(SELECTED_PAIRS) if p["remote"]["address"] != SEED_IP] == []
    a.api("sendSimpleTextMessage", b.address, "through the seed")  # the nodes still work
    assert arrived(b, "through the seed")["path"] == [a.address, seed["did"]]


def test_ice_transport_policy_relay_links_through_turn_even_where_stun_would_do(lab, seed, open_page):
    lab.nat("ra", "cone")
    lab.nat("rb", "cone")  # a direct (srflx) pair would work: the policy alone makes it a relay
    a, b = two_pages(open_page, seed, [TURN_UDP], [STUN], policy_a="relay")
    to_b, to_a = link_and_talk(a, b)
    assert (to_b["local"]["type"], to_b["local"]["address"]) == ("relay", TURN_IP), to_b
    assert (to_a["remote"]["type"], to_a["remote"]["address"]) == ("relay", TURN_IP), to_a


def test_udp_blocked_on_one_lan_links_through_turn_over_tcp(lab, seed, open_page):
    lab.nat("ra", "cone", block_udp=True)  # a corporate firewall: LAN A reaches out over TCP only
    lab.nat("rb", "cone")
    a, b = two_pages(open_page, seed, [STUN, TURN_UDP, TURN_TCP], [STUN])
    to_b, to_a = link_and_talk(a, b)
    # A's end is its relay on coturn, reached over TCP; B's is its NAT mapping
    local = to_b["local"]
    assert (local["type"], local["address"], local["relayProtocol"]) == ("relay", TURN_IP, "tcp"), to_b
    assert to_b["remote"]["address"] == WAN_IP["rb"], to_b
    assert (to_a["remote"]["type"], to_a["remote"]["address"]) == ("relay", TURN_IP), to_a


def test_a_native_node_behind_a_nat_links_to_a_browser_behind_another(lab, seed, open_page):
    lab.nat("ra", "cone")
    lab.nat("rb", "cone")
    key_a, key_b = keys_apart(seed["did"])
    proc, config, native = run_native(lab, "a", "native-a", "127.0.0.1:50000", key_a)
    try:
        native_and_browser(lab, seed, open_page, config, native, key_b)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def native_and_browser(lab, seed, open_page, config: Path, native: dict, key_b: str) -> None:
    """The native node in LAN A joins, a page in LAN B joins and links to it, texts both ways."""

    def cli(*args: str):  # the operator's CLI, on the native node's own host
        out = subprocess.run([*lab.prefix("a"), *RINGS, *args, "--config", str(config)], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    cli("connect", seed["url"])
    assert wait_until(lambda: seed["did"] in json.dumps(cli("peers")), 20), "the native node did not join"
    b = open_page("b", [STUN], key_b)
    join(b, seed)
    assert b.api("getPeer", native["did"]) is None
    b.api("connectWithAddress", native["did"])
    cli("send", b.address, "from the native node")
    assert arrived(b, "from the native node")["path"] == [native["did"]]
    b.api("sendSimpleTextMessage", native["did"], "from the browser")
    log = lab.dir / "native-a.log"
    assert wait_until(lambda: f'"from": "{b.address}"' in log.read_text(), 10), log.read_text()[-2000:]
    # the native node logged how the link went: to the page's NAT mapping (its own end is its host
    # candidate: aioice's server-reflexive candidates share the host one's socket)
    linked = [json.loads(line) for line in log.read_text().splitlines() if '"peer:connect"' in line]
    assert {"event": "peer:connect", "did": b.address, "pair": {"local": "host", "remote": "srflx", "protocol": "udp"}} \
        in linked, linked
    to_a = selected_pair(b)  # server-reflexive both ways, as between two browsers
    assert (to_a["remote"]["type"], to_a["remote"]["address"]) == ("srflx", WAN_IP["ra"]), to_a
    assert (to_a["local"]["type"], to_a["local"]["address"]) == ("srflx", WAN_IP["rb"]), to_a


def test_the_genuine_node_behind_a_nat_links_to_rings_web_behind_another(lab, seed, open_page):
    reason = genuine_missing()
    if reason:
        pytest.skip(reason)
    lab.nat("ra", "cone")
    lab.nat("rb", "cone")
    key_a, key_b = keys_apart(seed["did"])
    genuine = Genuine(prefix=(*lab.prefix("a"), "timeout", str(LIMIT)))  # its Chromium runs in LAN A
    try:
        g = GenuinePeer(genuine, "g", key_a).start(f"stun://{TURN_IP}:3478")  # 0.2.5 takes ICE servers as a string
        g.call("connectPeerViaHttp", seed["url"])
        assert wait_until(lambda: g.linked(seed["did"]), 20), "the genuine node did not join the seed"
        b = PagePeer(open_page("b", [STUN], key_b))
        join(b.page, seed)
        assert not b.linked(g.did)
        connect_to_genuine(b, g)  # retried (counted) only for the genuine answerer's own faults
        b.send_text(g.did, "from rings-web")
        assert wait_until(lambda: (b.did, "from rings-web") in g.texts(), 10), g.texts()
        g.send_text(b.did, "from 0.2.5")
        assert arrived(b.page, "from 0.2.5")["path"] == [g.did]
        # the string became this RTCIceServer (genuine.mjs's wiretap logs every RTCPeerConnection's config)
        configs = genuine.request("evaluate", "g", "() => window.__pc.filter((e) => e.ev === 'new').map((e) => e.v)", None)
        expected = [{"credentialType": "password", "urls": [f"stun:{TURN_IP}:3478"]}]
        assert configs and all(json.loads(c)["iceServers"] == expected for c in configs), configs
        to_g = selected_pair(b.page)
        assert (to_g["remote"]["type"], to_g["remote"]["address"]) == ("srflx", WAN_IP["ra"]), to_g
        assert (to_g["local"]["type"], to_g["local"]["address"]) == ("srflx", WAN_IP["rb"]), to_g
    finally:
        genuine.close()
