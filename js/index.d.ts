/** rings-web: a Rings Network node (Chord DHT over WebRTC) in the page, wire-compatible with Rings 0.2.5. */

export declare const VERSION: string;
export declare const PYODIDE_VERSION: string;
/** Where the `<script>` build loads Pyodide from unless `indexURL` is given. */
export declare const CDN_INDEX_URL: string;

/** A DID: `0x` + 40 hex digits (an Ethereum-style address); input may omit `0x`, any case. */
export type Did = string;

/** Any EIP-1193 provider, e.g. `window.ethereum` (MetaMask). */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
  on?(event: string, listener: (...args: any[]) => void): unknown;
}

/** A wallet that is not an EIP-1193 provider; it signs the session's auth text once. */
export interface Signer {
  /** DEFAULT: secp256k1 over keccak256(text); EIP191: personal_sign; EdDSA: ed25519; BIP137: Bitcoin message. Default EIP191. */
  mode?: "DEFAULT" | "EIP191" | "EdDSA" | "BIP137";
  /** The wallet address (secp256k1 modes). */
  address?: Did;
  /** The 32-byte ed25519 public key (EdDSA); the address is derived from it. */
  publicKey?: Uint8Array;
  /** Sign `text` (UTF-8): 65 bytes r||s||v (EdDSA: 64 bytes), as Uint8Array or hex. */
  sign(text: string): Promise<Uint8Array | string> | Uint8Array | string;
}

export interface Progress {
  stage: "runtime" | "python" | "wallet" | "storage" | "ready";
  /** `Date.now()` when the stage began. */
  at: number;
  /** With "python": whether Python came from the boot snapshot. */
  warm?: boolean;
}

export interface NodeOptions {
  /** An EIP-1193 provider (MetaMask): one `personal_sign` delegates a session key. */
  ethereum?: Eip1193Provider;
  /** Or a custom signer (exactly one of `ethereum` and `signer`). */
  signer?: Signer;
  /** With `ethereum`: the account to use (default: the selected one). */
  account?: Did;
  /** With `ethereum`: fail with WrongChain unless the wallet is on this chain. */
  chainId?: number;
  /** RTCIceServer list for every peer connection (default: none, host candidates only). */
  iceServers?: RTCIceServer[];
  /** "relay": gather only TURN candidates (every link goes through the TURN server); default "all". */
  iceTransportPolicy?: "all" | "relay";
  /** Stabilization period in ms (default 25 000, as 0.2.5's browser node). */
  stabilizeInterval?: number;
  /** Pyodide's base URL (default: the `pyodide` npm dependency; the `<script>` build: CDN_INDEX_URL). */
  indexURL?: string;
  /** Keep a Pyodide memory snapshot in IndexedDB for ~10x faster warm boots (default: true in browsers). */
  snapshot?: boolean;
  /** Where the wheel and its pyodide-lock.json are (default: this package's dist/). */
  distURL?: string;
  /** VNode persistence: "indexeddb" (default in browsers) or "memory" (default in Node). */
  storage?: "indexeddb" | "memory";
  /** IndexedDB database name (default "rings-web"); also names the kept session. */
  storageName?: string;
  /** Runs (synchronously) on every verified payload, as 0.2.5's JSON, before it is handled;
   * `false` drops it with a `payload:rejected` (MessageRefused). */
  validate?(payload: unknown): boolean;
  /** Drop plaintext custom messages (a `payload:rejected` each); default false. */
  requireEncryption?: boolean;
  /** Keep the session (the wallet's delegation and the ephemeral session key) in IndexedDB until
   * it expires, so a reload asks the wallet nothing (only `eth_accounts`, which never prompts);
   * another account signs anew. Default true; false: the wallet signs at every load. */
  persistSession?: boolean;
  onProgress?(progress: Progress): void;
}

export interface SendOptions {
  /** Encrypt to the recipient's session key (SPEC §5.7); default false. */
  encrypt?: boolean;
}

/** How a link went: the types of its selected ICE candidate pair (srflx: through a NAT, relay: through TURN). */
export interface CandidatePair {
  local: "host" | "srflx" | "prflx" | "relay";
  remote: "host" | "srflx" | "prflx" | "relay";
  protocol: "udp" | "tcp";
}

export interface PeerInfo {
  did: Did;
  transportId: string;
  /** "connected", or "new" while the handshake is under way. */
  state: string;
  /** The selected candidate pair; null while unknown. */
  pair: CandidatePair | null;
}

export interface Message {
  from: Did;
  txId: string;
  /** BackendMessage type (2 = text) when the body has that shape, else undefined (raw `sendMessage` bytes). */
  type?: number;
  data: Uint8Array;
  /** The text of a type-2 message. */
  text?: string;
  /** The relay path: the origin, then every node that forwarded it. */
  path: Did[];
  /** Whether it came encrypted to this node's session key (`data` is the plaintext). */
  encrypted: boolean;
  /** The whole CustomMessage body as it came (flag header included). */
  body: Uint8Array;
}

export interface HttpRequest {
  /** The service name the native node configured. */
  name: string;
  method: string;
  /** Appended to the service's URL; starts with "/". */
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** ms (default 30 000). */
  timeout?: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body?: Uint8Array;
}

export interface VNode {
  did: Did;
  kind: "Data" | "Subring" | "RelayMessage";
  /** The entries, decoded as text. */
  data: string[];
}

export interface NodeInfo {
  version: string;
  did: Did;
  peers: number;
  successors: Did[];
  predecessor?: Did;
  /** The distinct nodes in the finger table. */
  fingers: Did[];
  /** How many VNodes this node stores, and the first 256 of them with their entries as text. */
  stored: number;
  vnodes: Record<Did, string[]>;
}

/** The events and their fields, as rings_web/api_events.py defines them (tests/test_js_surface.py checks). */
export interface Events {
  message: Message;
  "peer:connect": { did: Did };
  "peer:disconnect": { did: Did };
  /** A link did not come up or broke; `reason` says what failed (ICE, DTLS), the candidate types of both sides, and what would help. */
  "peer:failed": { did: Did; reason: string };
  /** A peer sent something this node dropped (bad signature, expired, a relay loop…); it keeps running. */
  "payload:rejected": { error: string; message: string };
  progress: Progress;
  /** The wallet switched accounts; the node keeps its session for `address` until recreated. */
  "wallet:accountsChanged": { accounts: string[]; address: Did };
}

/** Every failure: `name` is the rings-web error type (SignatureRejected, WalletLocked, WrongAccount,
 * WrongChain, SignerError, InvalidArgument, LocalError, RequestTimeout, NotFound, ConnectionFailed (a link's ICE or
 * DTLS failed: the message says why), LoadError…). */
export declare class RingsError extends Error {
  readonly type: string;
  /** `family`: "LocalError" (this node's side), "RemoteError" (a peer's input), "RingsError", or null (not a rings-web error). */
  readonly details: { family?: "LocalError" | "RemoteError" | "RingsError" | null };
}

export declare class RingsNode {
  /** This node's DID: the wallet address. */
  readonly address: Did;
  /** Every event name `on` accepts. */
  readonly events: readonly (keyof Events)[];
  on<K extends keyof Events>(name: K, listener: (detail: Events[K]) => void): this;
  off<K extends keyof Events>(name: K, listener: (detail: Events[K]) => void): this;
  /** Manual handshake: the offer string for another node's `answerOffer`. */
  createOffer(): Promise<string>;
  answerOffer(offer: string): Promise<string>;
  acceptAnswer(answer: string): Promise<PeerInfo>;
  /** Bootstrap from a native node's JSON-RPC endpoint (`answerOffer`); returns the transport id. */
  connectPeerViaHttp(url: string): Promise<string>;
  /** Link to any node through the ring; resolves with its DID when the link is up. */
  connectWithAddress(did: Did): Promise<Did>;
  /** Raw bytes (0.2.5 `send_message`); returns the tx id. With `{encrypt: true}` every send is
   * ECIES-encrypted to the recipient's session key, learnt from a message its session signed
   * (asked for when unknown; rejects with NoSessionKey when it never answers). */
  sendMessage(did: Did, data: Uint8Array, options?: SendOptions): Promise<string>;
  sendSimpleTextMessage(did: Did, text: string, options?: SendOptions): Promise<string>;
  sendCustomMessage(did: Did, type: number, data: Uint8Array, options?: SendOptions): Promise<string>;
  /** The whole CustomMessage body as given, flag header included (own application layers, protocol tests). */
  sendRawBody(did: Did, body: Uint8Array): Promise<string>;
  /** Ask `did`'s native node to call its HTTP service `request.name` (0.2.5 send_http_request). */
  sendHttpRequest(did: Did, request: HttpRequest): Promise<HttpResponse>;
  listPeers(): Promise<PeerInfo[]>;
  getPeer(did: Did): Promise<PeerInfo | undefined>;
  disconnect(did: Did): Promise<void>;
  /** Store text under sha1(text) (0.2.5 `storage_store`); returns that id. */
  storageStore(text: string): Promise<Did>;
  /** The VNode under `did`, or undefined when the DHT has none. */
  /** The VNode under `did`, with `heldBy`: the node whose answer brought it (its holder). */
  storageFetch(did: Did): Promise<(VNode & { heldBy: Did }) | undefined>;
  publishMessageToTopic(topic: string, text: string): Promise<void>;
  fetchMessagesOfTopic(topic: string, index?: number): Promise<string[]>;
  registerService(name: string): Promise<void>;
  lookupService(name: string): Promise<Did[]>;
  getNodeInfo(): Promise<NodeInfo>;
  /** The dissector: 0.2.5's canonical JSON of frames (hex), a handshake string or base58 text. */
  decode(...inputs: string[]): Promise<{ kind: string; json: string }>;
  /** Close every link and flush storage. */
  close(): Promise<void>;
  /** Forget the kept session (the next createNode asks the wallet to sign again), then close. */
  logout(): Promise<void>;
}

/** Start a node: boots Pyodide with the rings-web wheel, asks the wallet for one signature. */
export declare function createNode(options: NodeOptions): Promise<RingsNode>;
