"""Wire formats of the remote signer: spec §7 vectors, protobuf field tables vs the SDK's generated code, Go JSON
rules, the state blob, keystore decryption (eth-account as oracle) and the JSON-RPC chain poller (fake node
on 127.0.0.1)."""

from __future__ import annotations

import base64
import json
from fractions import Fraction

import pytest

pytest.importorskip("google.protobuf")  # the signer extra

from tests.signer.helpers import SIGNER_ADDRESS, SIGNER_KEY, Clock, JsonPeer, make_signer, orch_info
from lpcore import keccak256, pm
from lpcore.signer import (
    ChainSnapshot,
    ChainStateUnavailable,
    JsonRpcChainState,
    KeyLoadError,
    PaymentState,
    decrypt_keystore,
    gojson,
    key_from_env,
    load_keystore,
    proto,
)
from lpcore.signer.state import format_rat, format_time_ns, parse_rat, parse_time_ns

# spec/remote_signer.md §7.2
ORCH_SIG = bytes.fromhex("47d66008c2c5b0671b8e7b43b62245ae9c4ba5f6ff7e94328b68eb45090cb108"
                         "0815dec67a20bdec15ce794c9ce271fa8e6552d6b0976ab7a0b92d5516b32ef31c")
STATE_BYTES = (b'{"StateID":"a1b2c3d4","PMSessionID":"0x1cc99003cc282c9136da55024afeaa419d599f8813ed6daa87ceb079865b1f45",'
               b'"LastUpdate":"2026-04-07T20:00:00Z","OrchestratorAddress":"0x70997970c51812dc3a010c7d01b50e0d17dc79c8",'
               b'"App":"","AuthExpiry":0,"SenderNonce":3,"Balance":"5","InitialPricePerUnit":3,"InitialPixelsPerUnit":1,'
               b'"Type":"live","SequenceNumber":2,"AuthID":""}')
STATE_SIG_B64 = "mfyqfP1yw5aMRQ1pLV/foEtdKRNTcLBZhkeZl/iYRUJD3iZg57pzraIJjUhlwxG8M60olQRzYYiTBDwrHU/Ehhs="
SEG_SIG = bytes.fromhex("9f400b9412d6172a536913e62f61950f9ae13c209f80ee7a9db9746d2a600fe6"
                        "2451e0b895e2e1bde0a70c17f82acdc9787f00f1325d91a5deb41301266209531c")
SEG_B64 = ("CgptYW5pZmVzdC0xGiDF0kYBhvcjPJJ+fbLcxwPA5QC2U8qCJzt7+tgEXYWkcCIHaW52YWxpZCpBn0ALlBLWFypTaRPmL2GVD5rhPCCfgO56n"
           "bl0bSpgD+YkUeC4leLhveCnDBf4Ks3JeH8A8TJdkaXetBMBJmIJUxxCEwoDdG9rEgZzZXNzLTEY5bnUzgY=")


# -- §7 vectors ------------------------------------------------------------------------------------------------

def test_vector_orchestrator_info_signature():
    signer = make_signer()
    assert signer.checksum_address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert keccak256(signer.checksum_address.encode()).hex() == (
        "db2ec52069cba65d62a560cad9088e7a709d09e7c14b33d740b428038e383e34")
    assert pm.personal_hash(keccak256(signer.checksum_address.encode())).hex() == (
        "f074936dd977c94afc63c17c070306255d3725c737aeba74ed58961f48f7bde9")
    assert signer.orchestrator_info_sig == ORCH_SIG
    assert json.loads(signer.sign_orchestrator_info().body) == {
        "address": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "signature": "0x" + ORCH_SIG.hex()}


def test_vector_state_blob():
    state = PaymentState(
        state_id="a1b2c3d4", pm_session_id="0x" + keccak256(b"rand").hex(),
        last_update=parse_time_ns("2026-04-07T20:00:00Z"), orchestrator_address=bytes.fromhex(
            "70997970c51812dc3a010c7d01b50e0d17dc79c8"), sender_nonce=3, balance="5", initial_price_per_unit=3,
        initial_pixels_per_unit=1, type="live", sequence_number=2)
    assert state.to_json() == STATE_BYTES and len(STATE_BYTES) == 356
    assert PaymentState.from_json(STATE_BYTES) == state
    sig = pm.Signer(SIGNER_KEY).sign_message(STATE_BYTES)
    assert base64.b64encode(sig).decode() == STATE_SIG_B64
    signer = make_signer()
    assert signer.verify_state(STATE_BYTES, sig)
    assert not signer.verify_state(STATE_BYTES.replace(b'"Balance":"5"', b'"Balance":"9"'), sig)


def test_vector_state_blob_against_eth_account():
    eth_account = pytest.importorskip("eth_account")
    from eth_account.messages import encode_defunct

    signed = eth_account.Account.sign_message(encode_defunct(primitive=STATE_BYTES), SIGNER_KEY)
    assert signed.message_hash.hex().removeprefix("0x") == (
        "4745eed2bae2156d87f777411dbc60a1e9d3c1d1b99ba860ff94395f8c9f8eb5")
    assert bytes(signed.signature) == base64.b64decode(STATE_SIG_B64)
    # And the orchestrator-info signature is eth-account's personal_sign of the 32-byte digest.
    digest = keccak256(b"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
    assert bytes(eth_account.Account.sign_message(encode_defunct(primitive=digest), SIGNER_KEY).signature) == ORCH_SIG


def test_vector_seg_creds():
    signer = make_signer()
    info = orch_info(auth_expiration=1775574245)
    seg = signer._seg_creds("manifest-1", None, info)
    assert base64.b64encode(seg).decode() == SEG_B64
    flat = b"manifest-1" + b"\0" * 32 + keccak256(b"")
    assert keccak256(flat).hex() == "7c20980e66caf718ce26eb685e5c6dd72463447224e4879824d23ea9a0762157"
    assert proto.SegData.FromString(seg).sig == SEG_SIG


# -- protobuf field tables -----------------------------------------------------------------------------------

def _fields(desc):
    out = {}
    for f in desc.fields:
        sub = f.message_type.full_name if f.message_type else (f.enum_type.full_name if f.enum_type else "")
        out[f.name] = (f.number, f.type, f.label if hasattr(f, "label") else None, sub)
    return out


def _walk(desc, prefix=""):
    yield prefix + desc.name, desc
    for nested in desc.nested_types:
        yield from _walk(nested, prefix + desc.name + ".")


@pytest.mark.parametrize("name", proto.MESSAGE_NAMES)
def test_proto_matches_sdk_generated_code(name):
    sdk = pytest.importorskip("livepeer_gateway.lp_rpc_pb2")
    ours = dict(_walk(proto.descriptor(name)))
    theirs = dict(_walk(getattr(sdk, name).DESCRIPTOR))
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert _fields(ours[key]) == _fields(theirs[key]), key


def test_proto_bytes_interoperate_with_sdk():
    sdk = pytest.importorskip("livepeer_gateway.lp_rpc_pb2")
    info = orch_info()
    info.capabilities.capacities[35] = 2
    info.capabilities.constraints.PerCapability[35].models["m"].runnerVersion = "v"
    info.hardware.add(pipeline="p").gpu_info["0"].memory_total = 1 << 40
    info.capabilities_prices.add(pricePerUnit=-5, pixelsPerUnit=1, capability=35, constraint="m")
    data = info.SerializeToString(deterministic=True)
    theirs = sdk.OrchestratorInfo.FromString(data)
    assert theirs.SerializeToString(deterministic=True) == data
    assert theirs.capabilities_prices[0].pricePerUnit == -5


def test_proto_parse_errors_are_value_errors():
    with pytest.raises(ValueError, match="^proto: "):
        proto.parse(proto.OrchestratorInfo, b"\x0a\xff")
    with pytest.raises(ValueError, match="^proto: "):
        proto.parse(proto.OrchestratorInfo, b"\x0a\x02\xff\xfe")  # invalid UTF-8 in a string field


# -- Go JSON rules -------------------------------------------------------------------------------------------

def test_gojson_numbers_and_bytes():
    assert gojson.as_int(gojson.Number("-9223372036854775808"), "S", "f") == -(2**63)
    for bad in ("1e3", "1.0", "9223372036854775808"):
        with pytest.raises(gojson.GoJSONError):
            gojson.as_int(gojson.Number(bad), "S", "f")
    with pytest.raises(gojson.GoJSONError):
        gojson.as_int(True, "S", "f")
    assert gojson.as_number("1.5e-3", "S", "f") == "1.5e-3"
    for bad in ("", "01", "1.", "+1", " 1", "0x10"):
        with pytest.raises(gojson.GoJSONError):
            gojson.as_number(bad, "S", "f")
    assert gojson.as_bytes("YW Jj".replace(" ", "\n"), "S", "f") == b"abc"  # Go skips CR/LF
    assert gojson.as_bytes(None, "S", "f") == b""
    for bad in ("YWJ", "YW=j", "-_8=", "YWJj=", "Y"):
        with pytest.raises(gojson.GoJSONError):
            gojson.as_bytes(bad, "S", "f")


def test_gojson_dumps_like_go():
    assert gojson.dumps({"a": "<&>\u2028\u2029é\x01", "b": [1, None]}) == (
        '{"a":"\\u003c\\u0026\\u003e\\u2028\\u2029é\\u0001","b":[1,null]}'.encode())


def test_state_json_rules():
    # Go decodes case-insensitively and ignores unknown keys; missing keys stay zero.
    st = PaymentState.from_json(b'{"stateid":"x","SENDERNONCE":4294967295,"zzz":1,"LastUpdate":"0001-01-01T00:00:00Z"}')
    assert (st.state_id, st.sender_nonce, st.last_update) == ("x", 2**32 - 1, None)
    for bad in (b'{"SenderNonce":4294967296}', b'{"SequenceNumber":-1}', b'{"AuthExpiry":1.5}', b'{"App":1}',
                b'{"OrchestratorAddress":"0x12"}', b'{} x', b'{"LastUpdate":"2026-13-01T00:00:00Z"}'):
        with pytest.raises(ValueError):
            PaymentState.from_json(bad)


def test_time_format_and_parse():
    ns = parse_time_ns("2026-04-07T20:00:00.123456789Z")
    assert format_time_ns(ns) == "2026-04-07T20:00:00.123456789Z"
    assert format_time_ns(parse_time_ns("2026-04-07T20:00:00.5Z")) == "2026-04-07T20:00:00.5Z"
    assert format_time_ns(parse_time_ns("2026-04-07T22:00:00.120+02:00")) == "2026-04-07T20:00:00.12Z"
    assert format_time_ns(None) == "0001-01-01T00:00:00Z" and parse_time_ns("0001-01-01T00:00:00Z") is None
    assert parse_time_ns("1970-01-01T00:00:01Z") == 10**9


def test_rationals_like_go_big_rat():
    assert parse_rat("6000/7") == Fraction(6000, 7) and parse_rat("-3") == -3 and parse_rat("1.25") == Fraction(5, 4)
    assert parse_rat("1.5e3") == 1500 and parse_rat("2e-2") == Fraction(1, 50) and parse_rat(".5") == Fraction(1, 2)
    for bad in ("", "1/0", "a", "1/2/3", "1 ", "--1", "."):
        assert parse_rat(bad) is None
    assert format_rat(Fraction(12, 4)) == "3" and format_rat(Fraction(125, 7)) == "125/7"


# -- keys ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kdf", ["scrypt", "pbkdf2"])
def test_keystore_decrypts_eth_account_output(tmp_path, kdf):
    eth_account = pytest.importorskip("eth_account")
    keystore = eth_account.Account.encrypt(SIGNER_KEY, "correct horse", kdf=kdf, iterations=2 if kdf == "scrypt" else 2)
    path = tmp_path / "key.json"
    path.write_text(json.dumps(keystore))
    assert load_keystore(path, "correct horse") == SIGNER_KEY
    with pytest.raises(KeyLoadError, match="MAC mismatch") as err:
        load_keystore(path, "wrong")
    assert SIGNER_KEY.hex() not in str(err.value)
    keystore["crypto"]["kdf"] = "argon2"
    with pytest.raises(KeyLoadError, match="unsupported keystore kdf"):
        decrypt_keystore(keystore, "correct horse")
    with pytest.raises(KeyLoadError):
        decrypt_keystore("{not json", "x")
    with pytest.raises(KeyLoadError, match="cannot read keystore"):
        load_keystore(tmp_path / "missing.json", "x")


def test_key_from_env(monkeypatch):
    monkeypatch.setenv("LPCORE_SIGNER_KEY", "0x" + SIGNER_KEY.hex())
    assert key_from_env() == SIGNER_KEY
    for bad in ("12", "zz" * 32, "00" * 32, "ff" * 32):
        monkeypatch.setenv("LPCORE_SIGNER_KEY", bad)
        with pytest.raises(KeyLoadError) as err:
            key_from_env()
        assert bad not in str(err.value)
    monkeypatch.delenv("LPCORE_SIGNER_KEY")
    with pytest.raises(KeyLoadError, match="not set"):
        key_from_env()


# -- JSON-RPC chain poller against a fake node on 127.0.0.1 ----------------------------------------------------

class FakeNode(JsonPeer):
    """A tiny Ethereum JSON-RPC node: the Controller, RoundsManager and TicketBroker calls the poller makes."""

    CONTROLLER = b"\xc0" * 20
    ROUNDS = b"\xa1" * 20
    BROKER = b"\xb2" * 20

    def __init__(self):
        self.l1_block = 0x1234
        self.round = 3500
        self.deposit, self.withdraw_round, self.reserve, self.claimed = 10**18, 0, 5 * 10**17, 7
        self.fail = False
        self.calls: list[dict] = []
        super().__init__(self._reply)

    def _reply(self, path: str, headers: dict, body: bytes):
        req = json.loads(body)
        self.calls.append(req)
        reply = {"jsonrpc": "2.0", "id": req["id"]}
        if self.fail:
            reply["error"] = {"code": -32000, "message": "boom"}
        else:
            reply["result"] = self.answer(req["method"], req["params"])
        return 200, reply

    def answer(self, method, params):
        if method == "eth_chainId":  # web3 (lpcore.broker.rpc) asks for it before its first call
            return hex(42161)
        if method == "eth_getBlockByNumber":
            assert params == ["latest", False]
            return {"number": "0x99999", "l1BlockNumber": hex(self.l1_block)}
        assert method == "eth_call" and params[1] == "latest"
        to, data = bytes.fromhex(params[0]["to"][2:]), bytes.fromhex(params[0]["data"][2:])
        word = lambda v: v.to_bytes(32, "big")  # noqa: E731
        if to == self.CONTROLLER and data[:4] == bytes.fromhex("e16c7d98"):
            name = {keccak256(b"RoundsManager"): self.ROUNDS, keccak256(b"TicketBroker"): self.BROKER}[data[4:36]]
            return "0x" + name.rjust(32, b"\0").hex()
        if to == self.ROUNDS and data == bytes.fromhex("8807f36e"):
            return "0x" + word(self.round).hex()
        if to == self.ROUNDS and data == bytes.fromhex("8ae63d6d"):  # blockNum(): the L1 block on Arbitrum
            return "0x" + word(self.l1_block).hex()
        if to == self.ROUNDS and data[:4] == bytes.fromhex("3aa4add4"):
            return "0x" + keccak256(b"round" + data[4:36]).hex()
        if to == self.BROKER and data[:4] == bytes.fromhex("e1a589da"):
            assert data[4:36] == SIGNER_ADDRESS.rjust(32, b"\0")
            return "0x" + b"".join(map(word, (self.deposit, self.withdraw_round, self.reserve, self.claimed))).hex()
        raise AssertionError(f"unexpected call {params}")



def test_json_rpc_chain_state_polls_fake_node():
    node = FakeNode()
    try:
        chain = JsonRpcChainState(node.url, SIGNER_ADDRESS, controller=FakeNode.CONTROLLER, interval_s=0.05)
        snap = chain.snapshot()
        assert snap == ChainSnapshot(last_seen_l1_block=0x1234, last_initialized_round=3500,
                                     last_initialized_block_hash=keccak256(b"round" + (3500).to_bytes(32, "big")),
                                     deposit=10**18, withdraw_round=0, reserve_funds_remaining=5 * 10**17,
                                     reserve_claimed_in_current_round=7)
        # The poller thread picks up new blocks; a failing poll keeps the last good view.
        node.l1_block, node.deposit = 0x2000, 42
        chain.start()
        import time

        deadline = time.monotonic() + 5
        while chain.snapshot().last_seen_l1_block != 0x2000 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (chain.snapshot().last_seen_l1_block, chain.snapshot().deposit) == (0x2000, 42)
        node.fail = True
        time.sleep(0.2)
        assert chain.snapshot().last_seen_l1_block == 0x2000 and chain.last_error is not None
        chain.close()
        # A signer over the poller pays with the node's round as fallback expiration params.
        node.fail, node.deposit = False, 10**18
        signer_chain = JsonRpcChainState(node.url, SIGNER_ADDRESS, controller=FakeNode.CONTROLLER)
        from tests.signer.helpers import check_payment, b64

        from lpcore.signer import RemoteSigner, SignerConfig

        signer = RemoteSigner(SIGNER_KEY, signer_chain, SignerConfig(), clock=Clock())
        body = json.dumps({"orchestrator": b64(orch_info(expiration_block=0x2000 + 40).SerializeToString()),
                           "type": "fixed"}).encode()
        out = signer.generate_live_payment(body)
        assert out.status == 200, out.body
        exp = check_payment(json.loads(out.body)["payment"], None).payment.expiration_params
        assert exp.creation_round == 3500
        # Start-up fails when the node cannot be read (go-livepeer refuses to start too).
        node.fail = True
        with pytest.raises(ChainStateUnavailable):
            JsonRpcChainState(node.url, SIGNER_ADDRESS, controller=FakeNode.CONTROLLER)
    finally:
        node.close()


def test_embedded_descriptor_matches_proto_source():
    """``_lp_rpc_desc.py`` is generated from ``lp_rpc.proto``: every field line of the source is in it."""
    import re
    from pathlib import Path

    import lpcore.signer

    text = (Path(lpcore.signer.__file__).parent / "lp_rpc.proto").read_text()
    text = re.sub(r"//[^\n]*", "", text)
    source = set(re.findall(r"^\s*(?:repeated\s+)?[\w.]+(?:<[\w, .]+>)?\s+(\w+)\s*=\s*(\d+)\s*;", text, re.M))
    embedded = set()
    for name in proto.MESSAGE_NAMES:
        for _, desc in _walk(proto.descriptor(name)):
            if not desc.GetOptions().map_entry:
                embedded |= {(f.name, str(f.number)) for f in desc.fields}
    assert source == embedded
