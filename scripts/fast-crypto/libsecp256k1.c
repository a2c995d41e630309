/* libsecp256k1's recovery and recoverable signing as a freestanding wasm32 module
 * (dist/libsecp256k1.wasm, built by scripts/build.mjs with clang from the libsecp256k1 that
 * scripts/setup.sh unpacks into build/libsecp256k1), 3x and 1.7x tiny-secp256k1's: a recovery
 * 94-102 µs against 271-291, a signature 89 against 150 (Node, CPU time), the same signatures.
 * A window of 12 for the tables of G: 200 KB of wasm (15: 1.1 MB for 91 µs).
 * 32-bit limbs (no __int128, which wasm32 lacks); its own memcpy/memset/memcmp, no libc, no heap:
 * the contexts live in static buffers. JS and this module share `io`: digest [0, 32), r||s
 * [32, 96), then a 65-byte public key or a 32-byte secret / seed at 96. */
#define USE_FORCE_WIDEMUL_INT64 1
#define ECMULT_WINDOW_SIZE 12
#define ECMULT_GEN_PREC_BITS 4
#define ENABLE_MODULE_RECOVERY 1
#define USE_EXTERNAL_DEFAULT_CALLBACKS 1
#include <stddef.h>

void *memcpy(void *to, const void *from, size_t n) { unsigned char *a = to; const unsigned char *b = from; while (n--) *a++ = *b++; return to; }
void *memset(void *to, int c, size_t n) { volatile unsigned char *a = to; while (n--) *a++ = (unsigned char)c; return to; }
int memcmp(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  for (; n; n--, a++, b++) if (*a != *b) return *a - *b;
  return 0;
}
/* a misuse of the API (never made here: JS checks the recovery id first) traps */
void secp256k1_default_illegal_callback_fn(const char *text, void *data) { __builtin_trap(); }
void secp256k1_default_error_callback_fn(const char *text, void *data) { __builtin_trap(); }

#include "src/secp256k1.c"

static unsigned char context[1 << 18] __attribute__((aligned(16)));
static secp256k1_context *ctx;
static unsigned char io[32 + 64 + 65];

__attribute__((export_name("io_ptr"))) unsigned char *io_ptr(void) { return io; }

/* Make the context, blinded by the 32 random bytes at io + 96 (as tiny-secp256k1 does); 1: done */
__attribute__((export_name("init"))) int init(void) {
  int done;
  if (secp256k1_context_preallocated_size(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY) > sizeof context) __builtin_trap();
  ctx = secp256k1_context_preallocated_create(context, SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
  done = secp256k1_context_randomize(ctx, io + 96);
  memset(io + 96, 0, 32);
  return done;
}

/* 1: io[96, 161) is the key that signed io[0, 32) with io[32, 96) and recid; 0: none did */
__attribute__((export_name("recover"))) int recover(int recid) {
  secp256k1_ecdsa_recoverable_signature sig;
  secp256k1_pubkey key;
  size_t length = 65;
  if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, io + 32, recid)) return 0;
  if (!secp256k1_ecdsa_recover(ctx, &key, &sig, io)) return 0;
  secp256k1_ec_pubkey_serialize(ctx, io + 96, &length, &key, SECP256K1_EC_UNCOMPRESSED);
  return 1;
}

/* The RFC 6979, low-S signature of io[0, 32) by the secret at io[96, 128) into io[32, 96) (the
 * secret is wiped): its recovery id, or -1 (not a valid secret) */
__attribute__((export_name("sign"))) int sign(void) {
  secp256k1_ecdsa_recoverable_signature sig;
  int recid = -1;
  if (secp256k1_ecdsa_sign_recoverable(ctx, &sig, io, io + 96, NULL, NULL))
    secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, io + 32, &recid, &sig);
  memset(io + 96, 0, 32);
  return recid;
}
