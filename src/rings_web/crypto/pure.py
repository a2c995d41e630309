"""Pure-Python backend: used only where neither libraries nor JS are present.

Slow (milliseconds per signature) but exact: tests cross-check it against the library
and JS backends.  Algorithms: Keccak-f[1600] (FIPS 202 with the original padding 0x01),
secp256k1 in Jacobian coordinates with RFC 6979 nonces and low-S, ed25519 verification
(RFC 8032 §5.1.7), AES-256 (FIPS 197) in GCM mode (SP 800-38D).
"""

from __future__ import annotations

import hashlib
import hmac

from ..errors import CryptoError, InvalidSignature
from ._checks import SECP256K1_N as N, check_len

__all__ = ["PureBackend"]

# -- Keccak-256 ---------------------------------------------------------------------------------
_RC = [
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
]
_ROT = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14]
_M64 = (1 << 64) - 1


def _keccak_f(a: list[int]) -> None:
    for rc in _RC:
        c = [a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20] for x in range(5)]
        d = [c[(x - 1) % 5] ^ (((c[(x + 1) % 5] << 1) | (c[(x + 1) % 5] >> 63)) & _M64) for x in range(5)]
        for i in range(25):
            a[i] ^= d[i % 5]
        b = [0] * 25
        for x in range(5):
            for y in range(5):
                r = _ROT[x + 5 * y]
                v = a[x + 5 * y]
                b[y + 5 * ((2 * x + 3 * y) % 5)] = ((v << r) | (v >> (64 - r))) & _M64 if r else v
        for i in range(25):
            a[i] = b[i] ^ (~b[(i % 5 + 1) % 5 + 5 * (i // 5)] & b[(i % 5 + 2) % 5 + 5 * (i // 5)])
        a[0] ^= rc


def keccak256(data: bytes) -> bytes:
    rate = 136
    msg = bytearray(data) + b"\x01" + bytes((-len(data) - 1) % rate)
    msg[-1] |= 0x80
    state = [0] * 25
    for off in range(0, len(msg), rate):
        block = msg[off : off + rate]
        for i in range(rate // 8):
            state[i] ^= int.from_bytes(block[8 * i : 8 * i + 8], "little")
        _keccak_f(state)
    return b"".join(state[i].to_bytes(8, "little") for i in range(4))


# -- secp256k1 ----------------------------------------------------------------------------------
P = 2**256 - 2**32 - 977
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)


def _jdouble(p):
    x, y, z = p
    if not y:
        return (0, 0, 0)
    ysq = y * y % P
    s = 4 * x * ysq % P
    m = 3 * x * x % P
    nx = (m * m - 2 * s) % P
    return (nx, (m * (s - nx) - 8 * ysq * ysq) % P, 2 * y * z % P)


def _jadd(p, q):
    if not p[2]:
        return q
    if not q[2]:
        return p
    z1s, z2s = p[2] * p[2] % P, q[2] * q[2] % P
    u1, u2 = p[0] * z2s % P, q[0] * z1s % P
    s1, s2 = p[1] * z2s * q[2] % P, q[1] * z1s * p[2] % P
    if u1 == u2:
        return _jdouble(p) if s1 == s2 else (0, 0, 0)
    h, r = u2 - u1, s2 - s1
    h2 = h * h % P
    h3 = h * h2 % P
    u1h2 = u1 * h2 % P
    nx = (r * r - h3 - 2 * u1h2) % P
    return (nx, (r * (u1h2 - nx) - s1 * h3) % P, h * p[2] * q[2] % P)


def _mul(point, k: int):
    result, addend = (0, 0, 0), (point[0], point[1], 1)
    while k:
        if k & 1:
            result = _jadd(result, addend)
        addend = _jdouble(addend)
        k >>= 1
    return result


def _affine(p):
    if not p[2]:
        raise CryptoError("point at infinity")
    zi = pow(p[2], -1, P)
    return (p[0] * zi * zi % P, p[1] * zi * zi * zi % P)


def _lift_x(x: int, odd: int):
    if x >= P:
        raise CryptoError("x coordinate out of range")
    y = pow((x * x * x + 7) % P, (P + 1) // 4, P)
    if (y * y - x * x * x - 7) % P:
        raise CryptoError("not a point on secp256k1")
    return (x, y if y & 1 == odd else P - y)


def _point(pub64: bytes):
    x, y = int.from_bytes(pub64[:32], "big"), int.from_bytes(pub64[32:], "big")
    if x >= P or y >= P or (y * y - x * x * x - 7) % P:
        raise CryptoError("not a point on secp256k1")
    return (x, y)


def _scalar(secret: bytes) -> int:
    d = int.from_bytes(secret, "big")
    if not 0 < d < N:
        raise CryptoError("secret key out of range")
    return d


def _rfc6979(d: int, digest: bytes):
    """Deterministic nonces k (RFC 6979 §3.2, HMAC-SHA256)."""
    x, h = d.to_bytes(32, "big"), (int.from_bytes(digest, "big") % N).to_bytes(32, "big")
    v, k = b"\x01" * 32, b"\x00" * 32
    k = hmac.new(k, v + b"\x00" + x + h, hashlib.sha256).digest()
    v = hmac.new(k, v, hashlib.sha256).digest()
    k = hmac.new(k, v + b"\x01" + x + h, hashlib.sha256).digest()
    v = hmac.new(k, v, hashlib.sha256).digest()
    while True:
        v = hmac.new(k, v, hashlib.sha256).digest()
        candidate = int.from_bytes(v, "big")
        if 0 < candidate < N:
            yield candidate
        k = hmac.new(k, v + b"\x00", hashlib.sha256).digest()
        v = hmac.new(k, v, hashlib.sha256).digest()


def _to64(pt) -> bytes:
    return pt[0].to_bytes(32, "big") + pt[1].to_bytes(32, "big")


# -- ed25519 verification (RFC 8032) ------------------------------------------------------------
_Q = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, -1, _Q) % _Q
_I = pow(2, (_Q - 1) // 4, _Q)


def _ed_add(p, q):
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a, b = (y1 - x1) * (y2 - x2) % _Q, (y1 + x1) * (y2 + x2) % _Q
    c, d = t1 * 2 * _D * t2 % _Q, z1 * 2 * z2 % _Q
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _Q, g * h % _Q, f * g % _Q, e * h % _Q)


def _ed_mul(p, k: int):
    r = (0, 1, 1, 0)
    while k:
        if k & 1:
            r = _ed_add(r, p)
        p = _ed_add(p, p)
        k >>= 1
    return r


def _ed_decode(s: bytes):
    y = int.from_bytes(s, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    if y >= _Q:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, -1, _Q) % _Q
    x = pow(x2, (_Q + 3) // 8, _Q)
    if (x * x - x2) % _Q:
        x = x * _I % _Q
    if (x * x - x2) % _Q or (x == 0 and sign):
        return None
    if x & 1 != sign:
        x = _Q - x
    return (x, y, 1, x * y % _Q)


def _ed_equal(p, q) -> bool:
    return (p[0] * q[2] - q[0] * p[2]) % _Q == 0 and (p[1] * q[2] - q[1] * p[2]) % _Q == 0


_EB = _ed_decode((4 * pow(5, -1, _Q) % _Q).to_bytes(32, "little"))

# -- AES-256-GCM --------------------------------------------------------------------------------
_SBOX = bytearray(256)


def _init_sbox() -> None:
    p = q = 1
    while True:  # multiplicative inverse by walking generators 3 and 1/3 (FIPS 197 §5.1.1)
        p = p ^ ((p << 1) & 0xFF) ^ (0x1B if p & 0x80 else 0)
        q ^= q << 1
        q ^= q << 2
        q ^= q << 4
        q &= 0xFF
        if q & 0x80:
            q ^= 0x09
        x = q ^ ((q << 1 | q >> 7) & 0xFF) ^ ((q << 2 | q >> 6) & 0xFF) ^ ((q << 3 | q >> 5) & 0xFF) ^ ((q << 4 | q >> 4) & 0xFF)
        _SBOX[p] = x ^ 0x63
        if p == 1:
            break
    _SBOX[0] = 0x63


_init_sbox()


def _xtime(a: int) -> int:
    return ((a << 1) ^ 0x1B) & 0xFF if a & 0x80 else a << 1


def _expand_key(key: bytes) -> list[list[int]]:
    words = [list(key[i : i + 4]) for i in range(0, 32, 4)]
    rcon = 1
    for i in range(8, 60):
        t = list(words[i - 1])
        if i % 8 == 0:
            t = [_SBOX[b] for b in t[1:] + t[:1]]
            t[0] ^= rcon
            rcon = _xtime(rcon)
        elif i % 8 == 4:
            t = [_SBOX[b] for b in t]
        words.append([a ^ b for a, b in zip(words[i - 8], t)])
    return [sum(words[4 * r : 4 * r + 4], []) for r in range(15)]


def _aes_block(round_keys: list[list[int]], block: bytes) -> bytes:
    s = [b ^ k for b, k in zip(block, round_keys[0])]
    for rnd in range(1, 15):
        s = [_SBOX[b] for b in s]
        s = [s[(i + 4 * (i % 4)) % 16] for i in range(16)]  # ShiftRows (column-major state)
        if rnd != 14:
            mixed = []
            for c in range(4):
                a = s[4 * c : 4 * c + 4]
                t = a[0] ^ a[1] ^ a[2] ^ a[3]
                mixed += [a[i] ^ t ^ _xtime(a[i] ^ a[(i + 1) % 4]) for i in range(4)]
            s = mixed
        s = [b ^ k for b, k in zip(s, round_keys[rnd])]
    return bytes(s)


def _gf_mult(x: int, y: int) -> int:
    r = 0xE1 << 120
    z = 0
    for i in range(127, -1, -1):
        if (y >> i) & 1:
            z ^= x
        x = (x >> 1) ^ r if x & 1 else x >> 1
    return z


def _ghash(h: int, data: bytes) -> int:
    y = 0
    for i in range(0, len(data), 16):
        y = _gf_mult(y ^ int.from_bytes(data[i : i + 16].ljust(16, b"\0"), "big"), h)
    return y


def _gcm(key: bytes, iv: bytes, data: bytes, ciphertext_for_tag: bytes | None) -> tuple[bytes, bytes]:
    rk = _expand_key(key)
    h = int.from_bytes(_aes_block(rk, bytes(16)), "big")
    j0 = _ghash(h, iv.ljust(-(-len(iv) // 16) * 16, b"\0") + bytes(8) + (8 * len(iv)).to_bytes(8, "big"))
    out = bytearray()
    counter = j0
    for i in range(0, len(data), 16):
        counter = (counter & ~0xFFFFFFFF) | ((counter + 1) & 0xFFFFFFFF)
        stream = _aes_block(rk, counter.to_bytes(16, "big"))
        out += bytes(a ^ b for a, b in zip(data[i : i + 16], stream))
    ct = bytes(out) if ciphertext_for_tag is None else ciphertext_for_tag
    s = _ghash(h, ct.ljust(-(-len(ct) // 16) * 16, b"\0") + bytes(8) + (8 * len(ct)).to_bytes(8, "big"))
    tag = bytes(a ^ b for a, b in zip(s.to_bytes(16, "big"), _aes_block(rk, j0.to_bytes(16, "big"))))
    return bytes(out), tag


class PureBackend:
    """Pure-Python primitives; see :class:`rings_web.crypto.CryptoBackend`."""

    name = "pure"

    def keccak256(self, data: bytes) -> bytes:
        return keccak256(bytes(data))

    def secp256k1_public_key(self, secret: bytes) -> bytes:
        check_len("secret", secret, 32)
        return _to64(_affine(_mul(G, _scalar(secret))))

    def secp256k1_sign(self, digest: bytes, secret: bytes) -> bytes:
        check_len("digest", digest, 32)
        check_len("secret", secret, 32)
        d, z = _scalar(secret), int.from_bytes(digest, "big") % N
        for k in _rfc6979(d, digest):
            rx, ry = _affine(_mul(G, k))
            r = rx % N
            s = pow(k, -1, N) * (z + r * d) % N
            if r and s:
                recid = (ry & 1) | (2 if rx >= N else 0)
                if s > N // 2:  # low-S
                    s, recid = N - s, recid ^ 1
                return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([recid])
        raise AssertionError("unreachable")  # pragma: no cover

    def secp256k1_recover(self, digest: bytes, signature: bytes) -> bytes:
        check_len("digest", digest, 32)
        check_len("signature", signature, 65)
        r, s, recid = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"), signature[64]
        if recid > 3 or not 0 < r < N or not 0 < s < N:
            raise InvalidSignature("signature out of range")
        try:
            R = _lift_x(r + (N if recid & 2 else 0), recid & 1)
            z = int.from_bytes(digest, "big") % N
            ri = pow(r, -1, N)
            q = _jadd(_mul(R, s * ri % N), _mul(G, (-z * ri) % N))
            return _to64(_affine(q))
        except CryptoError as e:
            raise InvalidSignature(f"cannot recover a public key: {e}") from None

    def secp256k1_decompress(self, public_key: bytes) -> bytes:
        check_len("public_key", public_key, 33)
        if public_key[0] not in (2, 3):
            raise CryptoError("compressed key must start with 02 or 03")
        return _to64(_lift_x(int.from_bytes(public_key[1:], "big"), public_key[0] & 1))

    def secp256k1_ecdh(self, secret: bytes, public_key: bytes) -> bytes:
        check_len("secret", secret, 32)
        check_len("public_key", public_key, 64)
        return b"\x04" + _to64(_affine(_mul(_point(public_key), _scalar(secret))))

    def ed25519_verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        check_len("public_key", public_key, 32)
        check_len("signature", signature, 64)
        a, r = _ed_decode(bytes(public_key)), _ed_decode(bytes(signature[:32]))
        s = int.from_bytes(signature[32:], "little")
        if a is None or r is None or s >= _L:
            return False
        h = int.from_bytes(hashlib.sha512(bytes(signature[:32]) + bytes(public_key) + bytes(message)).digest(), "little") % _L
        return _ed_equal(_ed_mul(_EB, s), _ed_add(r, _ed_mul(a, h)))

    def aes256_gcm_encrypt(self, key: bytes, iv: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
        check_len("key", key, 32)
        check_len("iv", iv, 16)
        return _gcm(bytes(key), bytes(iv), bytes(plaintext), None)

    def aes256_gcm_decrypt(self, key: bytes, iv: bytes, ciphertext: bytes, tag: bytes) -> bytes:
        check_len("key", key, 32)
        check_len("iv", iv, 16)
        check_len("tag", tag, 16)
        plaintext, expected = _gcm(bytes(key), bytes(iv), bytes(ciphertext), bytes(ciphertext))
        if not hmac.compare_digest(expected, bytes(tag)):
            raise CryptoError("AES-GCM tag mismatch")
        return plaintext
