"""A manual handshake timed inside the pages, with where its time goes (bench_interop.py).

Every mark is ``performance.timeOrigin + performance.now()`` in the page that made it: the
pages share one browser, so their marks share one clock and no harness round trip or poll
interval enters the figure.  The page's RTCPeerConnection is wrapped to mark each WebRTC step
(both kinds of node create theirs through the global), the API calls are marked around, and
"linked" is rings-web's ``peer:connect`` event or, for the genuine node (which has no such
event), its ``list_peers`` showing the peer ``connected`` (polled in the page every 2 ms).
"""

from __future__ import annotations

import time

TRACE = r"""([kind]) => {
  if (window.__hs) return;
  const now = () => performance.timeOrigin + performance.now();
  const hs = window.__hs = { marks: [], linked: null, did: null };
  const mark = hs.mark = (what) => hs.marks.push([what, now()]);
  const Base = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Base {
    constructor(...a) {
      mark("pc:new"); super(...a);
      this.addEventListener("icegatheringstatechange", () => mark("gathering:" + this.iceGatheringState));
      this.addEventListener("icecandidate", (e) => mark(e.candidate ? `candidate:${e.candidate.type}/${e.candidate.protocol}` : "candidate:end"));
      this.addEventListener("iceconnectionstatechange", () => mark("ice:" + this.iceConnectionState));
      this.addEventListener("connectionstatechange", () => mark("connection:" + this.connectionState));
      this.addEventListener("datachannel", (e) => e.channel.addEventListener("open", () => mark("channel:theirs open")));
    }
    createDataChannel(...a) { const c = super.createDataChannel(...a); c.addEventListener("open", () => mark("channel:ours open")); return c; }
  };
  for (const m of ["createOffer", "createAnswer", "setLocalDescription", "setRemoteDescription"]) {
    const f = Base.prototype[m];
    window.RTCPeerConnection.prototype[m] = async function (...a) { mark(m); const r = await f.apply(this, a); mark(m + " done"); return r; };
  }
  const linked = (did) => { if (hs.did && did && did.replace(/^0x/, "") === hs.did && hs.linked === null) { hs.linked = now(); mark("linked"); } };
  if (kind === "genuine") {
    (async () => { for (;;) {
      if (hs.did && hs.linked === null) for (const p of await window.oracle.listPeers()) if (p.state === "connected") linked(p.address.toLowerCase());
      await new Promise((r) => setTimeout(r, 2));
    } })();
  } else window.node.on("peer:connect", (e) => linked(e.did.toLowerCase()));
  hs.api = async (name, ...a) => {
    mark("api:" + name);
    const r = await (kind === "genuine" ? window.oracle[name](...a) : window.node[name](...a));
    mark("api:" + name + " done");
    return r;
  };
}"""

START = r"""([did]) => { const hs = window.__hs; hs.marks = []; hs.linked = null; hs.did = did.replace(/^0x/, ""); }"""
API = r"""([name, args]) => window.__hs.api(name, ...args)"""
READ = r"""() => ({ marks: window.__hs.marks, linked: window.__hs.linked })"""


def timed(a, b, timeout: float = 15) -> dict | None:
    """One manual handshake a -> b: ``{"ms": offer to both linked, "marks": [(t_ms, page, what)]}``,
    or None if the link did not come up within ``timeout`` seconds."""
    for node in (a, b):
        node.js(TRACE, node.kind)
    a.js(START, b.did)
    b.js(START, a.did)
    offer = a.js(API, "createOffer", [])
    answer = b.js(API, "answerOffer", [offer])
    a.js(API, "acceptAnswer", [answer])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ra, rb = a.js(READ), b.js(READ)
        if ra["linked"] and rb["linked"]:
            t0 = ra["marks"][0][1]
            accepted = next(t for w, t in ra["marks"] if w == "api:acceptAnswer")
            if min(ra["linked"], rb["linked"]) < accepted:  # a link left from before: not this handshake
                return None
            marks = sorted([(t - t0, a.name, w) for w, t in ra["marks"]] + [(t - t0, b.name, w) for w, t in rb["marks"]])
            return {"ms": max(ra["linked"], rb["linked"]) - t0, "marks": marks}
        time.sleep(0.05)
    return None


def unlink(a, b) -> None:
    """Close the link both ways so the pair can handshake again."""
    for x, y in ((a, b), (b, a)):
        try:
            x.api("disconnect", y.did)
        except Exception:  # already gone from this side
            pass
    time.sleep(0.5)


def samples(a, b, n: int, attempts: int = 3) -> tuple[list[dict], int]:
    """``n`` handshakes a -> b, unlinked in between and left linked after the last; a genuine
    answerer can lose its registration race (SPEC §10 item 2), so there are ``n * attempts``
    tries.  Returns the timed handshakes and the failed tries."""
    got, failed = [], 0
    while len(got) < n:
        if got or failed:
            unlink(a, b)
        r = timed(a, b)
        if r is not None:
            got.append(r)
        elif (failed := failed + 1) >= n * attempts:
            raise RuntimeError(f"{a.name} -> {b.name}: no link after {failed} handshakes")
    return got, failed


def phases(sample: dict) -> str:
    """One handshake in phases (ms): offer made, carried, answer made, carried, answer applied,
    and from there to both ends linked (DTLS, SCTP, data channels, the link's events)."""
    at = {}
    for t, _, what in sample["marks"]:
        at.setdefault(what, t)
    steps = [("offer", "api:createOffer", "api:createOffer done"), ("to B", "api:createOffer done", "api:answerOffer"),
             ("answer", "api:answerOffer", "api:answerOffer done"), ("to A", "api:answerOffer done", "api:acceptAnswer"),
             ("accept", "api:acceptAnswer", "api:acceptAnswer done"), ("link up", "api:acceptAnswer done", None)]
    return ", ".join(f"{name} {(at.get(end) if end else sample['ms']) - at[start]:.0f}" for name, start, end in steps
                     if start in at and (end is None or end in at))


def breakdown(sample: dict) -> str:
    """The marks of one handshake as lines ``+ms page what``."""
    return "\n".join(f"  {t:8.1f} ms  {page:3} {what}" for t, page, what in sample["marks"])
