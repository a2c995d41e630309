/* libsecp256k1's public-key recovery as a freestanding wasm32 module (dist/secp256k1-recover.wasm,
 * built by scripts/build.mjs with clang from the libsecp256k1 that scripts/setup.sh unpacks into
 * build/libsecp256k1): 94-97 µs a recovery against tiny-secp256k1's 271-291 (Node, CPU time);
 * a window of 12 for the tables of G: 200 KB of wasm (15: 1.1 MB, 91 µs).
 * 32-bit limbs (no __int128, which wasm32 lacks); its own memcpy/memset/memcmp, no libc, no heap:
 * the context lives in a static buffer. JS writes the digest and the 64-byte r||s at io_ptr(),
 * calls recover(recid) and reads the 65-byte uncompressed key after them. */
#define USE_FORCE_WIDEMUL_INT64 1
#define ECMULT_WINDOW_SIZE 12
#define ECMULT_GEN_PREC_BITS 4
#define ENABLE_MODULE_RECOVERY 1
#define USE_EXTERNAL_DEFAULT_CALLBACKS 1
#include <stddef.h>

void *memcpy(void *to, const void *from, size_t n) { unsigned char *a = to; const unsigned char *b = from; while (n--) *a++ = *b++; return to; }
void *memset(void *to, int c, size_t n) { unsigned char *a = to; while (n--) *a++ = (unsigned char)c; return to; }
int memcmp(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  for (; n; n--, a++, b++) if (*a != *b) return *a - *b;
  return 0;
}
/* a misuse of the API (never made here: JS checks the recovery id first) traps */
void secp256k1_default_illegal_callback_fn(const char *text, void *data) { __builtin_trap(); }
void secp256k1_default_error_callback_fn(const char *text, void *data) { __builtin_trap(); }

#include "src/secp256k1.c"

static unsigned char context[1 << 17] __attribute__((aligned(16)));
static secp256k1_context *ctx;
static unsigned char io[32 + 64 + 65];

__attribute__((export_name("io_ptr"))) unsigned char *io_ptr(void) { return io; }

/* 1: io[96..161] is the key that signed io[0..32] with io[32..96]; 0: none does */
__attribute__((export_name("recover"))) int recover(int recid) {
  secp256k1_ecdsa_recoverable_signature sig;
  secp256k1_pubkey key;
  size_t length = 65;
  if (!ctx) {
    if (secp256k1_context_preallocated_size(SECP256K1_CONTEXT_VERIFY) > sizeof context) __builtin_trap();
    ctx = secp256k1_context_preallocated_create(context, SECP256K1_CONTEXT_VERIFY);
  }
  if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, io + 32, recid)) return 0;
  if (!secp256k1_ecdsa_recover(ctx, &key, &sig, io)) return 0;
  secp256k1_ec_pubkey_serialize(ctx, io + 96, &length, &key, SECP256K1_EC_UNCOMPRESSED);
  return 1;
}
