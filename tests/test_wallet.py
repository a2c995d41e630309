"""The EIP-1193 wallet signer against a fake provider that behaves like MetaMask (and its errors)."""

from __future__ import annotations

import os

import pytest

from _support import run_sync
from _vectors import VECTORS
from rings_web.crypto import default_backend
from rings_web.did import Did
from rings_web.errors import SignatureRejected, SignerError, WalletLocked, WrongAccount, WrongChain
from rings_web.session import Eip1193Signer, LocalKeySigner, ProviderError, SessionManager, verify_session
from rings_web.session.manager import RESTORE_MARGIN_MS
from rings_web.wire.types import Signer

CRYPTO = default_backend()
KEYS = VECTORS["test_keys"]
NOW = 1_795_339_300_000


class FakeProvider:
    """``request(method, params)`` of an EIP-1193 wallet holding ``keys`` (the first is selected)."""

    def __init__(self, *keys: str, chain_id: str = "0x1", v_offset: int = 27) -> None:
        self.wallets = [LocalKeySigner(k) for k in keys]
        self.chain_id, self.v_offset = chain_id, v_offset
        self.refuse: dict[str, int] = {}  # method -> EIP-1193 error code
        self.calls: list[tuple[str, list]] = []

    async def request(self, method: str, params: list):
        self.calls.append((method, params))
        if method in self.refuse:
            raise ProviderError(self.refuse[method], "refused by the fake wallet")
        if method in ("eth_requestAccounts", "eth_accounts"):
            return [w.address.hex() for w in self.wallets]
        if method == "eth_chainId":
            return self.chain_id
        if method == "personal_sign":
            message, account = bytes.fromhex(params[0][2:]), Did.parse(params[1])
            wallet = next(w for w in self.wallets if w.address == account)
            sig = wallet.sign_sync(message.decode())
            return "0x" + (sig[:64] + bytes([sig[64] - 27 + self.v_offset])).hex()
        raise ProviderError(4200, f"unsupported method {method}")


def session_from(provider: FakeProvider, **kw) -> SessionManager:
    signer = run_sync(Eip1193Signer.connect(provider.request, crypto=CRYPTO, **kw))
    return run_sync(SessionManager.create(signer, crypto=CRYPTO, now=NOW, random_bytes=os.urandom))


@pytest.mark.parametrize("v_offset", [27, 0], ids=["v27", "v0-normalised"])
def test_metamask_path_makes_a_verifiable_eip191_session(v_offset):
    provider = FakeProvider(KEYS["A"]["priv"], v_offset=v_offset)
    session = session_from(provider)
    assert session.wallet == Did.parse(KEYS["A"]["address"])
    verify_session(session.session, CRYPTO)
    assert session.session.sig[64] in (27, 28)
    method, params = provider.calls[-1]
    assert method == "personal_sign" and params[1] == KEYS["A"]["address"]
    assert bytes.fromhex(params[0][2:]).decode().startswith('{"authorizer":{"did":"' + KEYS["A"]["address"])


def test_a_chosen_account_and_chain():
    provider = FakeProvider(KEYS["A"]["priv"], KEYS["B"]["priv"], chain_id="0x89")
    assert session_from(provider, account=KEYS["B"]["address"].upper().replace("0X", "0x"), chain_id=137).wallet == Did.parse(KEYS["B"]["address"])
    with pytest.raises(WrongChain, match="chain 137"):
        session_from(provider, chain_id=1)
    with pytest.raises(WrongAccount):
        session_from(provider, account=KEYS["C"]["address"])


@pytest.mark.parametrize("method,code,error", [
    ("personal_sign", 4001, SignatureRejected),
    ("eth_requestAccounts", 4001, SignatureRejected),
    ("eth_requestAccounts", 4100, WalletLocked),
    ("personal_sign", -32002, SignerError),
    ("personal_sign", -32603, SignerError),
])
def test_provider_errors_become_typed_errors(method, code, error):
    provider = FakeProvider(KEYS["A"]["priv"])
    provider.refuse[method] = code
    with pytest.raises(error) as info:
        session_from(provider)
    assert str(code) in str(info.value)


def test_locked_wallet_and_garbage_answers():
    provider = FakeProvider()  # no accounts: MetaMask locked
    with pytest.raises(WalletLocked):
        session_from(provider)

    async def garbage(method, params):
        return ["not an address"] if method == "eth_requestAccounts" else "0x1234"

    with pytest.raises(SignerError, match="not an address"):
        run_sync(Eip1193Signer.connect(garbage))
    signer = Eip1193Signer(garbage, Did.parse(KEYS["A"]["address"]), CRYPTO)
    with pytest.raises(SignerError, match="65 bytes"):
        run_sync(signer.sign("text"))


def test_account_changed_between_connect_and_sign():
    provider = FakeProvider(KEYS["A"]["priv"], KEYS["B"]["priv"])

    async def switched(method, params):  # the user switched to B; the wallet signs with B regardless
        return await provider.request(method, [params[0], KEYS["B"]["address"]] if method == "personal_sign" else params)

    signer = Eip1193Signer(switched, run_sync(Eip1193Signer.connect(provider.request)).address, CRYPTO)
    with pytest.raises(WrongAccount, match="account changed"):
        run_sync(signer.sign("auth text"))


def test_the_selected_account_is_asked_without_a_prompt():
    provider = FakeProvider(KEYS["A"]["priv"], KEYS["B"]["priv"])
    assert run_sync(Eip1193Signer.selected(provider.request)) == Did.parse(KEYS["A"]["address"])
    assert run_sync(Eip1193Signer.selected(provider.request, KEYS["B"]["address"])) == Did.parse(KEYS["B"]["address"])
    assert run_sync(Eip1193Signer.selected(provider.request, KEYS["C"]["address"])) is None
    assert {method for method, _ in provider.calls} == {"eth_accounts"}
    assert run_sync(Eip1193Signer.selected(FakeProvider().request)) is None  # locked
    provider.refuse["eth_accounts"] = 4200  # a wallet without it
    assert run_sync(Eip1193Signer.selected(provider.request)) is None


def test_a_kept_session_comes_back_only_for_its_wallet_mode_and_chain_while_it_has_a_margin_left():
    session = session_from(FakeProvider(KEYS["A"]["priv"], chain_id="0x89"), chain_id=137)
    record = session.to_record(137)
    assert record["account"] == KEYS["A"]["address"] and record["secret"] == session.key.secret
    wallet = Did.parse(KEYS["A"]["address"])
    restore = lambda rec=record, **kw: SessionManager.restore(  # noqa: E731
        rec, **{"wallet": wallet, "mode": Signer.EIP191, "chain_id": 137, "now": NOW, "crypto": CRYPTO, **kw})
    again = restore()
    assert (again.key, again.session) == (session.key, session.session)
    assert again.sign(bytes(32)) == session.sign(bytes(32))
    last = record["expires"] - RESTORE_MARGIN_MS
    assert restore(now=last) is not None and restore(now=last + 1) is None
    assert restore(wallet=Did.parse(KEYS["B"]["address"])) is None
    assert restore(mode=Signer.DEFAULT) is None
    assert restore(chain_id=None) is None
    other_key = session_from(FakeProvider(KEYS["A"]["priv"])).key.secret
    sig = bytearray(record["session"])
    sig[10] ^= 1  # inside the wallet signature
    for damaged in ({**record, "secret": other_key}, {**record, "session": record["session"][:-3]},
                    {**record, "session": bytes(sig)}, {**record, "secret": b"short"}, {"account": record["account"]}):
        assert restore(damaged) is None
