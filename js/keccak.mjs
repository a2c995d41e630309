/**
 * @module Keccak-256 in WebAssembly written here, byte by byte (no toolchain, no binary in the
 * package): the state lives in 25 i64 locals across a whole input, and a message body's
 * serde_json number list (SPEC §5.4: "n0,n1,…", ~3.6 bytes a byte) is written from its bytes
 * inside the module, so the text never exists in JS. What each side of a bulk transfer spends
 * most of a message on (SPEC §5.4 hashes ~190 KB for a 50 KB body).
 */

// -- the module's bytes ------------------------------------------------------------------------
const uleb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; };
const str = (s) => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
const section = (id, body) => [id, ...uleb(body.length), ...body];
const vec = (items) => [...uleb(items.length), ...items.flat()];

// opcodes
const GET = 0x20, SET = 0x21, TEE = 0x22, I64_LOAD = 0x29, I64_STORE = 0x37, I32_LOAD = 0x28, I32_LOAD8_U = 0x2d,
  I32_STORE = 0x36, I32_CONST = 0x41, I64_CONST = 0x42, I32_EQZ = 0x45, I32_NE = 0x47, I32_ADD = 0x6a, I32_SUB = 0x6b,
  I64_AND = 0x83, I64_XOR = 0x85, I64_ROTL = 0x89, BLOCK = 0x02, LOOP = 0x03, BR = 0x0c, BR_IF = 0x0d, END = 0x0b, VOID = 0x40;
const i32c = (n) => [I32_CONST, ...sleb(n)];
function sleb(n) {
  const out = [];
  for (;;) { const b = n & 0x7f; n >>= 7; if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) { out.push(b); return out; } out.push(b | 0x80); }
}
const memarg = (align, offset) => [align, ...uleb(offset)];

const RATE = 136; // bytes a block for Keccak-256
const RC_AT = 256, DIGITS_AT = 512, LENGTHS_AT = 1536, FREE_AT = 2048; // the state sits at 0

// absorb(ptr, blocks): xor each 136-byte block at ptr into the state and permute.
// locals: 0 ptr, 1 blocks (i32); 2 round (i32); then i64: A 3..27, B 28..52, C 53..57, D 58
function absorbBody() {
  const A = (i) => 3 + i, B = (i) => 28 + i, C = (i) => 53 + i, D = 58, ptr = 0, blocks = 1, round = 2;
  const code = [];
  const push = (...ops) => code.push(...ops);
  for (let i = 0; i < 25; i++) push(i32c(0), I64_LOAD, memarg(3, 8 * i), SET, A(i));
  push(BLOCK, VOID, LOOP, VOID, GET, blocks, I32_EQZ, BR_IF, 1);
  for (let i = 0; i < RATE / 8; i++) push(GET, A(i), GET, ptr, I64_LOAD, memarg(0, 8 * i), I64_XOR, SET, A(i));
  push(i32c(0), SET, round, LOOP, VOID);
  for (let x = 0; x < 5; x++) {
    push(GET, A(x));
    for (let y = 1; y < 5; y++) push(GET, A(x + 5 * y), I64_XOR);
    push(SET, C(x));
  }
  for (let x = 0; x < 5; x++) {
    push(GET, C((x + 4) % 5), GET, C((x + 1) % 5), I64_CONST, 1, I64_ROTL, I64_XOR, SET, D);
    for (let y = 0; y < 5; y++) { // theta, rho and pi: B[y, 2x+3y] = rotl(A[x, y] ^ D[x], r[x, y])
      push(GET, A(x + 5 * y), GET, D, I64_XOR);
      if (ROT[x][y]) push(I64_CONST, ROT[x][y], I64_ROTL);
      push(SET, B(y + 5 * ((2 * x + 3 * y) % 5)));
    }
  }
  for (let y = 0; y < 5; y++) {
    for (let x = 0; x < 5; x++) { // chi: A = B ^ (~B[x+1] & B[x+2])
      push(GET, B(x + 5 * y), GET, B((x + 1) % 5 + 5 * y), I64_CONST, 0x7f, I64_XOR, GET, B((x + 2) % 5 + 5 * y), I64_AND, I64_XOR, SET, A(x + 5 * y));
    }
  }
  push(GET, A(0), GET, round, I64_LOAD, memarg(3, RC_AT), I64_XOR, SET, A(0)); // iota
  push(GET, round, i32c(8), I32_ADD, TEE, round, i32c(8 * 24), I32_NE, BR_IF, 0, END);
  push(GET, ptr, i32c(RATE), I32_ADD, SET, ptr, GET, blocks, i32c(1), I32_SUB, SET, blocks, BR, 0, END, END);
  for (let i = 0; i < 25; i++) push(i32c(0), GET, A(i), I64_STORE, memarg(3, 8 * i));
  return [...vec([[1, 0x7f], [56, 0x7e]]), ...code.flat(), END];
}

// list(src, n, dst) -> end: "b," of each byte at src written from dst (a word a byte, the next
// overwriting the spare); locals: 0 src, 1 n, 2 dst, 3 byte
function listBody() {
  const SHL = 0x74;
  const code = [BLOCK, VOID, LOOP, VOID, GET, 1, I32_EQZ, BR_IF, 1,
    GET, 0, I32_LOAD8_U, ...memarg(0, 0), SET, 3,
    GET, 2, GET, 3, ...i32c(2), SHL, I32_LOAD, ...memarg(2, DIGITS_AT), I32_STORE, ...memarg(0, 0),
    GET, 2, GET, 3, I32_LOAD8_U, ...memarg(0, LENGTHS_AT), I32_ADD, SET, 2,
    GET, 0, ...i32c(1), I32_ADD, SET, 0, GET, 1, ...i32c(1), I32_SUB, SET, 1, BR, 0, END, END, GET, 2, END];
  return [...vec([[1, 0x7f]]), ...code];
}

// r[x][y] of Keccak's rho step
const ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14]];

function moduleBytes() {
  const fn = (body) => [...uleb(body.length), ...body];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, 2, 0x7f, 0x7f, 0], [0x60, 3, 0x7f, 0x7f, 0x7f, 1, 0x7f]])), // types
    ...section(3, vec([[0], [1]])), // functions
    ...section(5, vec([[0, 1]])), // memory: min 1 page
    ...section(7, vec([[...str("memory"), 2, 0], [...str("absorb"), 0, 0], [...str("list"), 0, 1]])),
    ...section(10, vec([fn(absorbBody()), fn(listBody())])),
  ]);
}

/** The 24 round constants of Keccak-f[1600] (its LFSR, as FIPS 202 defines it). */
function roundConstants() {
  const out = [];
  for (let round = 0, r = 1; round < 24; round++) {
    let rc = 0n;
    for (let j = 0; j < 7; j++) {
      r = ((r << 1) ^ ((r >> 7) * 0x71)) & 0xff;
      if (r & 2) rc ^= 1n << BigInt((1 << j) - 1);
    }
    out.push(rc);
  }
  return out;
}

/**
 * Instantiate the module; resolves to `{keccak256(data), keccak256ByteList(prefix, data, suffix)}`
 * (Uint8Array in, a new 32-byte Uint8Array out).
 * @example (await keccakWasm()).keccak256(new Uint8Array()) // c5d2…a470
 */
export async function keccakWasm() {
  const { instance } = await WebAssembly.instantiate(moduleBytes());
  const { memory, absorb, list } = instance.exports;
  let heap = new Uint8Array(memory.buffer), view = new DataView(memory.buffer);
  roundConstants().forEach((rc, i) => view.setBigUint64(RC_AT + 8 * i, rc, true));
  for (let n = 0; n < 256; n++) {
    const text = `${n},`;
    heap[LENGTHS_AT + n] = text.length;
    for (let j = 0; j < text.length; j++) heap[DIGITS_AT + 4 * n + j] = text.charCodeAt(j);
  }
  const room = (bytes) => { // at least `bytes` free from FREE_AT
    const short = FREE_AT + bytes - memory.buffer.byteLength;
    if (short > 0) { memory.grow(Math.ceil(short / 65536)); heap = new Uint8Array(memory.buffer); view = new DataView(memory.buffer); }
  };
  /** Pad the `length` bytes at `at` (FIPS 202's Keccak: 0x01 … 0x80, the pad of Keccak-256
   * before SHA-3), absorb them into a zero state and return the digest. */
  const finish = (at, length) => {
    const blocks = Math.floor(length / RATE) + 1, end = at + blocks * RATE;
    heap.fill(0, at + length, end);
    heap[at + length] = 0x01;
    heap[end - 1] |= 0x80;
    heap.fill(0, 0, 200);
    absorb(at, blocks);
    return heap.slice(0, 32);
  };
  return {
    keccak256(data) {
      room(data.length + RATE);
      heap.set(data, FREE_AT);
      return finish(FREE_AT, data.length);
    },
    keccak256ByteList(prefix, data, suffix) {
      // the bytes first, their text after them (4 bytes a byte at most, +3 for the last word)
      const text = FREE_AT + data.length;
      room(data.length + prefix.length + 4 * data.length + 3 + suffix.length + RATE);
      heap.set(data, FREE_AT);
      heap.set(prefix, text);
      let at = list(FREE_AT, data.length, text + prefix.length);
      if (data.length) at -= 1; // no comma after the last number
      heap.set(suffix, at);
      return finish(text, at + suffix.length - text);
    },
  };
}
