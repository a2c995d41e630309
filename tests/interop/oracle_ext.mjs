// Extra calls on window.oracle for the interop tests: the parts of the genuine 0.2.5 Client
// API the shared oracle page does not wrap (connect through the ring, lookup_service,
// disconnect, DHT state), plus incremental reads of its logs. Loaded after oracle.js.
import { plain } from "/oracle/oracle.js";

// oracle.js keeps its client private: remember the one Client.new_client_with_storage makes.
const Client = window.oracle.rings.Client;
const make = Client.new_client_with_storage;
let client = null;
Client.new_client_with_storage = async (...args) => (client = await make.apply(Client, args));
const need = () => { if (!client) throw new Error("start() first"); return client; };

// connect_with_address(did) resolves once its data channel is open -- or never: every send
// also waits for that channel with set_onopen, replacing the earlier waiter (0.2.5
// wait_for_data_channel_open), so when the link registers before the channel opens the
// JoinDHT send takes the handler over. Start it here; the test reads the outcome.
const connects = new Map();

Object.assign(window.oracle, {
  /** Start connect_with_address (ConnectNodeSend through the ring); see connectOutcome. */
  connectWithAddress: (did) => {
    const outcome = { state: "pending" };
    connects.set(did, outcome);
    need().connect_with_address(did).then(
      (peer) => Object.assign(outcome, { state: "resolved", peer: plain(peer) }),
      (e) => Object.assign(outcome, { state: "rejected", error: String(e) }));
    return null;
  },
  connectOutcome: (did) => connects.get(did) || null,
  lookupService: async (name) => plain(await need().lookup_service(name)),
  disconnect: (did) => need().disconnect(did),
  /** The wire log and the callback log from entry `from` on (both only grow). */
  wireFrom: (from) => window.__wire.slice(from),
  eventsFrom: (from) => window.oracle.events.slice(from),
});
window.oracleExt = true;
