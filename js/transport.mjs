/**
 * @module WebRTC for rings-web in the browser: the browser objects, and nothing else.
 * Python (rings_web.transport.browser) owns every protocol decision; this file creates
 * RTCPeerConnections with 0.2.5's data-channel convention (SPEC §3.2) and hands events back.
 */

const LABEL = "rings";
const GATHER_TIMEOUT_MS = 5000;
// Backpressure (RECIPES.md, measured best): queue above 4 MB buffered, resume below 1 MB.
const HIGH_WATER = 4 << 20;
const LOW_WATER = 1 << 20;
// A peer that leaves this much unsent for us is gone: the link is closed.
const MAX_QUEUED = 64 << 20;

// Without STUN/TURN servers only host candidates come: the UDP ones within a few ms, then
// Chromium's TCP-active ones ~120 ms later (no use to aiortc or to a browser peer). Waiting
// this long after the last UDP host candidate instead of for "complete" saves ~0.1 s per side.
const HOST_SETTLE_MS = 25;
// A new connection's candidates take ~120 ms (the TCP-active ones, see above; longer with STUN
// servers), so a spare connection is made ahead with a candidate pool: made >= 150 ms before the
// offer or answer, that one completes gathering within ~2 ms (measured in headless Chromium,
// 120 ms -> 2 ms), all candidates in. One spare at a time, made again after each use; one
// unused this long is closed (a node that stopped linking keeps no idle sockets, or TURN allocation).
const SPARE_IDLE_MS = 60_000;
// ICE checks not through this long after both descriptions are in (see watch) are given up, with
// the reason (rings_web/transport/diagnosis.py: Chromium alone declares failure only after ~15 s,
// later than the engine's 10 s request timeout). Keep equal to diagnosis.ICE_CHECK_MS.
const ICE_CHECK_MS = 6000;

/** Candidate types named in SDP or candidate lines: host, srflx, prflx, relay. */
function candidateTypes(lines) {
  return [...new Set(lines.flatMap((line) => [...(line ?? "").matchAll(/ typ (\w+)/g)].map((m) => m[1])))];
}

/** What Python's diagnosis.failure_reason needs to say why the link failed. */
function failure(link, waitedMs = null) {
  const { pc } = link;
  return {
    ice: pc.iceConnectionState, connection: pc.connectionState, up: link.up, waitedMs,
    local: candidateTypes([pc.localDescription?.sdp, ...link.candidates.map((c) => c.candidate)]),
    remote: candidateTypes([pc.remoteDescription?.sdp, ...link.remote]),
  };
}

/** The selected candidate pair's types (getStats), or null while there is none. */
async function selectedPair(pc) {
  const stats = new Map();
  (await pc.getStats()).forEach((s) => stats.set(s.id, s));
  const transport = [...stats.values()].find((s) => s.type === "transport" && s.selectedCandidatePairId);
  const pair = transport ? stats.get(transport.selectedCandidatePairId)
    : [...stats.values()].find((s) => s.type === "candidate-pair" && s.nominated && s.state === "succeeded");
  const local = pair && stats.get(pair.localCandidateId), remote = pair && stats.get(pair.remoteCandidateId);
  return local && remote ? { local: local.candidateType, remote: remote.candidateType, protocol: local.protocol } : null;
}

/** Wait for ICE gathering to complete (non-trickle, as 0.2.5), bounded; see HOST_SETTLE_MS. */
function gathered(link, hostOnly) {
  const { pc } = link;
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    let settle;
    const finish = () => { clearTimeout(timer); clearTimeout(settle); resolve(); };
    const timer = setTimeout(finish, GATHER_TIMEOUT_MS);
    const udp = () => { clearTimeout(settle); settle = setTimeout(finish, HOST_SETTLE_MS); };
    pc.addEventListener("icegatheringstatechange", () => { if (pc.iceGatheringState === "complete") finish(); });
    if (hostOnly) {
      if (link.candidates.some((c) => / udp /i.test(c.candidate))) udp(); // came during setLocalDescription
      pc.addEventListener("icecandidate", (e) => { if (e.candidate?.protocol === "udp") udp(); });
    }
  });
}

/** The handshake record Python turns into a HandshakeInfo: SDP JSON text + candidates. */
function describe(pc, candidates) {
  const d = pc.localDescription;
  return { sdp: JSON.stringify({ sdp: d.sdp, type: d.type }), candidates };
}

/**
 * Build the transport functions for one node.
 * @param {object} events - `{opened(tid), frame(tid, Uint8Array), closed(tid, failure?)}` from
 *   Python; `failure` (see `failure()`) when the link failed rather than closed.
 * @param {object[]} iceServers - RTCIceServer objects (empty: host candidates only).
 * @param {"all" | "relay"} iceTransportPolicy - "relay": only TURN candidates (hides the host's addresses).
 * @example const t = createTransport({opened, frame, closed}, []);
 */
export function createTransport(events, iceServers = [], iceTransportPolicy = "all") {
  const links = new Map();
  const hostOnly = iceServers.length === 0;

  function drop(tid, failed) {
    const link = links.get(tid);
    if (!link) return;
    links.delete(tid);
    clearTimeout(link.giveUp);
    link.pc.close();
    events.closed(tid, failed);
  }

  function flush(link) {
    while (link.queue.length && link.own.readyState === "open" && link.own.bufferedAmount < HIGH_WATER) {
      const frame = link.queue.shift();
      link.queued -= frame.byteLength;
      link.own.send(frame);
    }
  }

  /** A connection with its own channel, events not yet bound (nothing fires before a description). */
  function connection() {
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy, iceCandidatePoolSize: 1 });
    const own = pc.createDataChannel(LABEL); // before the offer, so it is in the SDP
    own.binaryType = "arraybuffer";
    own.bufferedAmountLowThreshold = LOW_WATER;
    return { pc, own };
  }

  let spare = null; // {pc, own, idle}: see SPARE_IDLE_MS
  function restock() {
    if (spare || typeof RTCPeerConnection === "undefined") return;
    let made;
    try { made = spare = connection(); } catch { return; } // a bad iceServers entry: peer() throws it
    made.idle = setTimeout(() => { if (spare === made) spare = null; made.pc.close(); }, SPARE_IDLE_MS);
  }
  setTimeout(restock, 0);

  function peer(tid) {
    if (typeof RTCPeerConnection === "undefined") {
      throw new Error("RTCPeerConnection is not available in this runtime (WebRTC needs a browser)");
    }
    const made = spare ?? connection();
    spare = null;
    clearTimeout(made.idle);
    setTimeout(restock, 0);
    const { pc, own } = made;
    const link = { pc, own, candidates: [], remote: [], queue: [], queued: 0, up: false, pair: null, giveUp: null };
    links.set(tid, link);
    pc.onicecandidate = (e) => { if (e.candidate) link.candidates.push(e.candidate.toJSON()); };
    const readPair = async () => { try { link.pair = await selectedPair(pc); } catch { /* closed meanwhile */ } };
    own.onopen = async () => {
      link.up = true;
      clearTimeout(link.giveUp);
      flush(link);
      await readPair(); // before "opened": getPeer tells the pair as soon as the link is up
      pc.sctp?.transport?.iceTransport?.addEventListener?.("selectedcandidatepairchange", readPair);
      if (links.get(tid) === link) events.opened(tid);
    };
    own.onbufferedamountlow = () => flush(link);
    own.onclose = () => drop(tid);
    pc.ondatachannel = (e) => {
      e.channel.binaryType = "arraybuffer";
      e.channel.onmessage = (m) => {
        if (m.data instanceof ArrayBuffer && m.data.byteLength) events.frame(tid, new Uint8Array(m.data));
      };
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed") drop(tid, failure(link));
      else if (pc.connectionState === "closed") drop(tid);
    };
    return link;
  }

  async function apply(link, sdpText, candidatesJson) {
    const desc = JSON.parse(sdpText);
    await link.pc.setRemoteDescription(desc);
    for (const c of JSON.parse(candidatesJson)) {
      link.remote.push(c.candidate);
      try { await link.pc.addIceCandidate(c); } catch { /* 0.2.5 only logs a bad candidate */ }
    }
  }

  /** Both descriptions are in (our answer made, or theirs applied): the checks have ICE_CHECK_MS. */
  function watch(tid, link) {
    link.giveUp = setTimeout(() => { if (!link.up) drop(tid, failure(link, ICE_CHECK_MS)); }, ICE_CHECK_MS);
  }

  return {
    async createOffer(tid) {
      const link = peer(tid);
      await link.pc.setLocalDescription(await link.pc.createOffer());
      await gathered(link, hostOnly);
      return describe(link.pc, link.candidates);
    },
    async acceptOffer(tid, sdpText, candidatesJson) {
      const link = peer(tid);
      await apply(link, sdpText, candidatesJson);
      await link.pc.setLocalDescription(await link.pc.createAnswer());
      await gathered(link, hostOnly);
      watch(tid, link);
      return describe(link.pc, link.candidates);
    },
    async applyAnswer(tid, sdpText, candidatesJson) {
      const link = links.get(tid);
      if (!link) throw new Error(`no pending transport ${tid}`);
      await apply(link, sdpText, candidatesJson);
      watch(tid, link);
    },
    /** Send one frame on our own channel; queued while closed or above the high-water mark. */
    send(tid, frame) {
      const link = links.get(tid);
      if (!link) return;
      link.queue.push(frame);
      link.queued += frame.byteLength;
      if (link.queued > MAX_QUEUED) { queueMicrotask(() => drop(tid)); return; }
      flush(link);
    },
    close(tid) {
      const link = links.get(tid);
      if (link) { links.delete(tid); clearTimeout(link.giveUp); link.pc.close(); }
    },
    /** The selected candidate pair `{local, remote, protocol}` of an open link, else null. */
    pair(tid) {
      return links.get(tid)?.pair ?? null;
    },
  };
}
