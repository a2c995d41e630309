"""Error families of rings-web.

Modelled on h11: whose fault is it?

* :class:`RemoteError` -- something a peer sent is bad (undecodable bytes, a bad
  signature, an expired payload, a relay loop).  A node drops the input, reports
  it as an event and keeps running.
* :class:`LocalError` -- the caller misused the API (a bad argument, an unknown peer).

Every decoder in :mod:`rings_web.wire` raises only :class:`DecodeError` (a
``RemoteError``) on any input, never ``IndexError``, ``UnicodeDecodeError`` and the like.
"""

from __future__ import annotations

__all__ = [
    "RingsError",
    "RemoteError",
    "LocalError",
    "DecodeError",
    "VerificationError",
    "InvalidSignature",
    "ExpiredError",
    "OriginMismatch",
    "ReplayError",
    "RelayError",
    "InvalidArgument",
    "RequestTimeout",
    "NotFound",
    "NoSessionKey",
    "DecryptionFailed",
    "MessageRefused",
    "ConnectionFailed",
    "CryptoError",
    "SignerError",
    "SignatureRejected",
    "WalletLocked",
    "WrongAccount",
    "WrongChain",
]


class RingsError(Exception):
    """Base class of every error rings-web raises on purpose."""


class RemoteError(RingsError):
    """Input that came from a peer is invalid."""


class LocalError(RingsError):
    """The local caller asked for something impossible."""


class DecodeError(RemoteError, ValueError):
    """Bytes or text that do not decode as the expected wire type."""


class VerificationError(RemoteError):
    """A payload or session failed the 0.2.5 acceptance rules (SPEC §5.5)."""


class InvalidSignature(VerificationError):
    """A wallet, session or message signature does not check out."""


class ExpiredError(VerificationError):
    """A payload or session is past its time to live (SPEC §5.6)."""


class OriginMismatch(VerificationError):
    """``relay.path[0]`` is not the wallet of the origin session (SPEC §5.5 step 2)."""


class ReplayError(VerificationError):
    """A payload already accepted from the same hop came again (rings-web's own protection)."""


class RelayError(RemoteError):
    """A relay header breaks the forwarding rules (SPEC §7.5): wrong next hop, loop."""


class InvalidArgument(LocalError, ValueError):
    """An API argument is of the wrong type or out of range."""


class RequestTimeout(LocalError):
    """No answer came back in time."""


class NotFound(LocalError):
    """The DHT holds no value under that id."""


class NoSessionKey(LocalError):
    """No session public key of the recipient is known or could be obtained (to encrypt to)."""


class DecryptionFailed(RemoteError):
    """An encrypted custom message does not decrypt with our session key (SPEC §5.7)."""


class MessageRefused(RemoteError):
    """The application refused a payload: its validator said no, or it was plaintext where
    encryption is required."""


class ConnectionFailed(LocalError):
    """A WebRTC link did not come up or broke (ICE or DTLS failed); the message says why."""


class CryptoError(RingsError):
    """A cryptographic primitive is unavailable or was given malformed keys."""


class SignerError(LocalError):
    """The wallet or signer could not produce a signature."""


class SignatureRejected(SignerError):
    """The user (or wallet) refused to sign."""


class WalletLocked(SignerError):
    """The wallet is locked, or this site is not authorized to use it."""


class WrongAccount(SignerError):
    """The wallet answered for another account than the one asked for (account changed?)."""


class WrongChain(SignerError):
    """The wallet is on another chain than the one the application requires."""
