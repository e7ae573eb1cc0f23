"""Every status-code row of spec/remote_signer.md §4.3 (and §2, §4.10, §5), billing and ticket-count rules.

The service is called directly (same code the ASGI app runs); HTTP-only behaviour (404/405/413, headers,
content types) goes through Starlette's TestClient.
"""

from __future__ import annotations

import base64
import json
from fractions import Fraction

import pytest

pytest.importorskip("google.protobuf")  # the signer extra

from tests.signer.helpers import (
    JsonPeer,
    MAX_WIN_PROB,
    ORCH_ADDRESS,
    ROUND_HASH,
    SIGNER_KEY,
    b64,
    call,
    check_payment,
    err,
    make_signer,
    ok,
    orch_info,
    signed_state,
    state_of,
)
from lpcore import keccak256, pm
from lpcore.signer import SignerConfig, proto

pytestmark = pytest.mark.filterwarnings("ignore:Using .httpx. with .starlette.testclient")

ORCH_URL = "https://127.0.0.1:9/"


# -- §4.3 steps 1-9: request decoding and state ------------------------------------------------------------

@pytest.mark.parametrize("raw, message", [
    (b"", "EOF"),
    (b"{", "unexpected EOF"),
    (b"{'a':1}", "invalid character"),
    (b"[1,2]", "cannot unmarshal array"),
    (b'{"orchestrator": 5}', "cannot unmarshal number"),
    (b'{"orchestrator": "-_8="}', "illegal base64 data"),  # URL-safe alphabet
    (b'{"orchestrator": "YWJj YQ"}', "illegal base64 data"),
    (b'{"orchestrator": "YWI"}', "illegal base64 data"),  # unpadded
    (b'{"inPixels": 1.5}', "cannot unmarshal number 1.5"),
    (b'{"inPixels": "100"}', "cannot unmarshal string"),
    (b'{"inPixels": 9223372036854775808}', "cannot unmarshal number"),
    (b'{"state": "x"}', "cannot unmarshal string"),
    (b'{"maxPrice": {"price": "abc"}}', "invalid number literal"),
    (b'{"a": NaN}', "invalid character"),
])
def test_step1_decode_errors_are_400(signer, raw, message):
    status, body, _ = call(signer, raw=raw)
    assert status == 400 and message in body["error"]["message"]


def test_step1_go_json_rules(signer):
    info = orch_info()
    # Case-insensitive keys (Kelvin sign folds to k), unknown keys ignored, trailing bytes ignored.
    raw = json.dumps({"ORCHESTRATOR": b64(info.SerializeToString()), "manifestid": "mid", "TYPE": "live",
                      "capability": "ignored", "extra": [1, {"x": None}]}).encode() + b" trailing garbage"
    status, body, _ = call(signer, raw=raw)
    assert status == 200
    st = state_of(body)
    assert st.type == "live"
    check_payment(body["payment"], body["segCreds"], manifest_id="mid")
    raw2 = ('{"orchestrator": "%s", "type": "fixed", "\u212aind": 1, "Manifest\u212aD": 0}' % b64(
        info.SerializeToString())).encode()
    assert call(signer, raw=raw2)[0] == 200
    # The last of duplicate keys wins; null means empty.
    raw3 = json.dumps({"orchestrator": "", "Orchestrator": b64(info.SerializeToString()), "type": "fixed",
                       "state": None, "capabilities": None, "maxPrice": None}).encode()
    assert call(signer, raw=raw3)[0] == 200


def test_steps2_to_5(signer):
    assert err(signer) == (400, "missing orchestrator")
    assert err(signer, orchestrator=b64(b"\xff\xff\xff")) == (400, "proto: cannot parse invalid wire-format data")
    assert err(signer, orch_info(price=None)) == (400, "missing or zero priceInfo")
    assert err(signer, orch_info(price=(0, 1))) == (400, "missing or zero priceInfo")
    assert err(signer, orch_info(price=(1, 0))) == (400, "missing or zero priceInfo")
    no_tp = orch_info()
    no_tp.ClearField("ticket_params")
    assert err(signer, no_tp) == (400, "missing ticketParams in OrchestratorInfo")


def test_step7_state_tampering_and_foreign_state(signer):
    info = orch_info()
    first = ok(signer, info, type="fixed")
    good = first["state"]
    raw = bytearray(base64.b64decode(good["State"]))
    raw[raw.index(b'"SenderNonce":1') + 14] = ord("0")  # nonce 1 -> 0: replays earlier nonces
    tampered = {"State": b64(bytes(raw)), "Sig": good["Sig"]}
    assert err(signer, info, type="fixed", ManifestID="m", state=tampered) == (400, "invalid sig")
    # A state signed by another key (a foreign signer) is refused.
    foreign = signed_state(base64.b64decode(good["State"]), key=keccak256(b"another key"))
    assert err(signer, info, type="fixed", ManifestID="m", state=foreign) == (400, "invalid sig")
    # Malformed signatures: short, high-s, v not 27/28, only one member present.
    sig = base64.b64decode(good["Sig"])
    for bad in (sig[:64], sig[:64] + bytes([1]), sig[:32] + (pm.SECP256K1_N - int.from_bytes(sig[32:64], "big"))
                .to_bytes(32, "big") + bytes([55 - sig[64]])):
        assert err(signer, info, type="fixed", ManifestID="m",
                   state={"State": good["State"], "Sig": b64(bad)}) == (400, "invalid sig")
    assert err(signer, info, type="fixed", ManifestID="m", state={"State": good["State"]}) == (400, "invalid sig")
    assert err(signer, info, type="fixed", ManifestID="m", state={"Sig": good["Sig"]}) == (400, "invalid sig")
    # A validly signed blob that is not a state: 400 invalid state.
    for blob in (b"not json", b'{"SenderNonce": -1}', b'{"OrchestratorAddress": "70997970c51812dc3a010c7d01b50e0d17'
                 b'dc79c8"}', b'{"LastUpdate": "yesterday"}', b"[]"):
        assert err(signer, info, type="fixed", ManifestID="m", state=signed_state(blob)) == (400, "invalid state")
    # The untouched state still works, and both-empty state means "no state".
    assert call(signer, info, type="fixed", ManifestID="m", state=good)[0] == 200
    assert call(signer, info, type="fixed", state={"State": "", "Sig": None})[0] == 200


def test_step7_mismatches_and_manifest(signer):
    info = orch_info()
    st = ok(signer, info, type="live", app="a")["state"]
    other = orch_info(address=b"\x01" * 20)
    assert err(signer, other, type="live", app="a", ManifestID="m", state=st) == (400, "orchestratorAddress mismatch")
    assert err(signer, info, type="live", app="b", ManifestID="m", state=st) == (400, "app mismatch")
    assert err(signer, info, type="fixed", app="a", ManifestID="m", state=st) == (400, "job type mismatch")
    assert err(signer, info, type="live", app="a", state=st) == (400, "missing manifestID")
    assert err(signer, info, type="live", app="a", ManifestID="m", state=st,
               capabilities=b64(b"\x0a\x05")) == (400, "proto: cannot parse invalid wire-format data")
    # A state whose Type is "" accepts any type (and records it).
    blank = state_of({"state": st}).replace(type="")
    body = ok(signer, info, type="fixed", app="a", ManifestID="m", state=signed_state(blank))
    assert state_of(body).type == "fixed"
    # The orchestrator address is the last 20 bytes of a longer field (left-padded when shorter).
    padded = orch_info(address=b"\0" * 12 + ORCH_ADDRESS)
    assert call(signer, padded, type="live", app="a", ManifestID="m", state=st)[0] == 200


# -- §4.3 step 11: refresh check and sender validation -----------------------------------------------------

def test_step11_auth_token_and_expiry(signer, clock):
    now_s = clock.now_ns // 10**9
    assert err(signer, orch_info(auth=False), type="fixed") == (
        400, "remote signer could not check whether to refresh session: missing auth token")
    status, body, headers = call(signer, orch_info(auth_expiration=now_s + 179, transcoder=ORCH_URL), type="fixed")
    assert (status, body["error"]["message"]) == (480, "refresh session for remote signer")
    assert headers["Livepeer-Orchestrator-URL"] == ORCH_URL
    assert call(signer, orch_info(auth_expiration=now_s + 181), type="fixed")[0] == 200
    # Ticket params expire when expiration_block - last seen L1 block <= 1.
    signer.chain.update(last_seen_l1_block=1039)
    status, body, headers = call(signer, orch_info(expiration_block=1040, transcoder=ORCH_URL), type="fixed")
    assert status == 480 and headers["Livepeer-Orchestrator-URL"] == ORCH_URL
    assert call(signer, orch_info(expiration_block=1041), type="fixed")[0] == 200


PREFIX = "remote signer could not check whether to refresh session: "


@pytest.mark.parametrize("info_kw, chain_kw, config_kw, message", [
    ({"expiration_block": 0}, {}, {}, "ticketParams expiration block is 0"),
    ({"expiration_block": 2**64}, {}, {}, "ticketParams expiration block is 0"),  # low 64 bits, as Go
    ({"face_value": 35, "win_prob": MAX_WIN_PROB}, {}, {}, "ticket faceValue too low faceValue=35"),
    ({"face_value": 5 * 10**13, "win_prob": MAX_WIN_PROB // 5}, {}, {},
     "ticket EV 10000000000000.00000 > max ticket EV 3000000000000.00000"),
    ({}, {"withdraw_round": 51}, {}, "unable to validate sender: deposit and reserve is set to unlock soon"),
    ({}, {"reserve_funds_remaining": 0}, {}, "no sender reserve"),
    ({}, {"deposit": 0}, {}, "no sender deposit"),
    ({}, {"deposit": 1000}, {"deposit_multiplier": 10}, "ticket faceValue 175 > max faceValue 100"),
])
def test_step11c_validation_errors(clock, info_kw, chain_kw, config_kw, message):
    signer = make_signer(SignerConfig(**config_kw), clock, **chain_kw)
    assert err(signer, orch_info(**info_kw), type="fixed") == (400, PREFIX + message)


def test_step11_withdraw_round_far_enough_is_fine(clock):
    signer = make_signer(SignerConfig(), clock, withdraw_round=52)
    assert call(signer, orch_info(), type="fixed")[0] == 200


# -- §4.3 steps 12-15: units, max price, ticket count ------------------------------------------------------

def test_step12_units(signer):
    assert err(signer, orch_info(), type="hourly") == (400, "invalid job type")
    assert err(signer, orch_info(), type="") == (400, "missing billable unit or job type")
    assert err(signer, orch_info(), inPixels=-5) == (400, "missing billable unit or job type")
    assert call(signer, orch_info(), inPixels=5)[0] == 200


@pytest.mark.parametrize("max_price, job, message", [
    ({"price": 0, "currency": "wei", "unit": "seconds"}, "live", "maxPrice.price must be a positive decimal"),
    ({"price": "-1", "currency": "wei", "unit": "seconds"}, "live", "maxPrice.price must be a positive decimal"),
    ({"currency": "wei", "unit": "seconds"}, "live", "maxPrice.price must be a positive decimal"),
    ({"price": 5, "currency": "usd", "unit": "seconds"}, "live", "maxPrice.currency must be wei"),
    ({"price": 5, "currency": "wei", "unit": "seconds"}, "", "maxPrice requires payment type live, lv2v, or fixed"),
    ({"price": 5, "currency": " WEI ", "unit": "hours"}, "live", "maxPrice.unit must be seconds for payment type live"),
    ({"price": 5, "currency": "wei", "unit": "seconds"}, "lv2v",
     "maxPrice.unit must be 720p-pixel-seconds for payment type lv2v"),
    ({"price": 5, "currency": "wei", "unit": "seconds"}, "fixed", "maxPrice.unit must be fixed for payment type fixed"),
])
def test_step13_max_price_parsing(signer, max_price, job, message):
    kw = {"inPixels": 10} if job == "" else {}
    assert err(signer, orch_info(), type=job, maxPrice=max_price, **kw) == (400, message)


def test_step13_price_ceilings_481(clock):
    info = orch_info(price=(7, 2))  # 3.5 wei per unit
    cfg = make_signer(SignerConfig(max_price=Fraction(3)), clock)
    assert err(cfg, info, type="live") == (
        481, "orchestrator price 3.500 exceeds configured maximum price ceiling 3.000")
    signer = make_signer(SignerConfig(max_price=Fraction(10)), clock)
    # The request ceiling (as a string json.Number, trimmed/case-insensitive unit) is lower than the configured.
    assert err(signer, info, type="live", maxPrice={"price": "3.4999", "currency": "Wei", "unit": " Seconds"}) == (
        481, "orchestrator price 3.500 exceeds request maxPrice ceiling 3.500")
    assert call(signer, info, type="live", maxPrice={"price": 3.5, "currency": "wei", "unit": "seconds"})[0] == 200
    # With state the initial session price is a ceiling: price may fall but never rise above it.
    st = ok(signer, orch_info(price=(3, 1)), type="live")["state"]
    assert err(signer, info, type="live", ManifestID="m", state=st) == (
        481, "orchestrator price 3.500 exceeds initial session price ceiling 3.000")
    assert call(signer, orch_info(price=(2, 1)), type="live", ManifestID="m", state=st)[0] == 200
    # Per-capability ceilings (summed over the request's model constraints) replace the global one.
    caps = proto.Capabilities()
    caps.constraints.PerCapability[35].models["sd"].warm = True
    per_cap = make_signer(SignerConfig(max_price=Fraction(100), max_price_per_capability={(35, "sd"): Fraction(3)}),
                          clock)
    assert err(per_cap, info, type="live", capabilities=b64(caps.SerializeToString())) == (
        481, "orchestrator price 3.500 exceeds configured maximum price ceiling 3.000")
    assert call(per_cap, info, type="live")[0] == 200


def test_step13a_invalid_initial_price_in_state(signer):
    info = orch_info()
    st = state_of(ok(signer, info, type="live"))
    for bad in (st.replace(initial_price_per_unit=0), st.replace(initial_pixels_per_unit=-1)):
        assert err(signer, info, type="live", ManifestID="m", state=signed_state(bad)) == (
            400, "invalid initial price in state")


def test_step15_no_tickets_and_cap(signer, clock):
    # Zero-EV params can never be paid: 482.
    assert err(signer, orch_info(win_prob=0), type="fixed") == (482, "no tickets")
    # 100 tickets is the cap: fee 100 * EV is fine, one wei more is not.
    assert len(check_payment(ok(signer, orch_info(price=(3500, 1)), type="fixed")["payment"], None).nonces) == 100
    assert err(signer, orch_info(price=(3501, 1)), type="fixed") == (400, "numTickets 101 exceeds maximum of 100")


def test_step16_total_ev_is_500_masked(clock):
    signer = make_signer(SignerConfig(max_total_ev=Fraction(100)), clock)
    assert call(signer, orch_info(price=(70, 1)), type="fixed")[0] == 200  # 2 tickets x 35 = 70 <= 100
    assert err(signer, orch_info(price=(71, 1)), type="fixed") == (500, "Internal Server Error")  # 3 x 35 > 100


# -- billing worked examples (go-livepeer server/remote_signer_test.go) --------------------------------------

def test_billing_live_example(signer, clock):
    info = orch_info(price=(3, 1))  # 3 wei/s, EV 35
    first = ok(signer, info, type="live", ManifestID="m")
    st = state_of(first)
    assert check_payment(first["payment"], first["segCreds"]).nonces == [1]
    assert (st.balance, st.sequence_number, st.sender_nonce) == ("5", 0, 1)
    assert st.last_update == clock.now_ns and st.orchestrator_address == ORCH_ADDRESS
    clock.advance(12)
    second = ok(signer, info, type="live", ManifestID="m", state=first["state"])
    st2 = state_of(second)
    assert check_payment(second["payment"], second["segCreds"]).nonces == [2]
    assert (st2.balance, st2.sequence_number, st2.sender_nonce) == ("4", 1, 2)
    # 11.2 s bills ceil = 12 s.
    clock.advance(11.2)
    third = ok(signer, info, type="live", ManifestID="m", state=second["state"])
    assert state_of(third).balance == str(4 + 35 - 36)


def test_billing_fixed_example(signer):
    info = orch_info(price=(3, 1), face_value=15)  # EV 3
    state = None
    nonces = []
    for _ in range(3):
        kw = {"state": state, "ManifestID": "m"} if state else {}
        body = ok(signer, info, type="fixed", **kw)
        state = body["state"]
        assert state_of(body).balance == "0"
        nonces += check_payment(body["payment"], body["segCreds"]).nonces
    assert nonces == [1, 2, 3]


def test_nonce_restarts_on_new_recipient_rand_hash(signer):
    first = ok(signer, orch_info(), type="fixed")
    assert state_of(first).sender_nonce == 1
    other = ok(signer, orch_info(rand=b"other", face_value=3500), type="fixed", ManifestID="m", state=first["state"])
    assert check_payment(other["payment"], None).nonces == [1]


def test_nonce_wraps_at_uint32(signer):
    st = state_of(ok(signer, orch_info(), type="fixed"))
    near = st.replace(sender_nonce=2**32 - 1, balance="0", initial_price_per_unit=70)
    body = ok(signer, orch_info(price=(70, 1)), type="fixed", ManifestID="m", state=signed_state(near))
    assert check_payment(body["payment"], None).nonces == [0, 1]
    assert state_of(body).sender_nonce == 1


def test_expiration_params_from_params_or_chain(signer):
    body = ok(signer, orch_info(), type="fixed")
    exp = check_payment(body["payment"], None).payment.expiration_params
    assert (exp.creation_round, exp.creation_round_block_hash) == (50, ROUND_HASH)
    own = (77, keccak256(b"r77"))
    body = ok(signer, orch_info(creation_round=own), type="fixed")
    exp = check_payment(body["payment"], None).payment.expiration_params
    assert (exp.creation_round, exp.creation_round_block_hash) == own
    # A round without a hash is not "set": the signer's own round is used.
    body = ok(signer, orch_info(creation_round=(77, b"")), type="fixed")
    assert check_payment(body["payment"], None).payment.expiration_params.creation_round == 50


def test_payment_copies_ticket_params_minimally(signer):
    info = orch_info()
    info.ticket_params.face_value = b"\0\0" + info.ticket_params.face_value  # non-minimal encoding
    info.ticket_params.expiration_params.creation_round = 9
    info.ticket_params.expiration_params.creation_round_block_hash = b"\x07" * 32
    p = check_payment(ok(signer, info, type="fixed")["payment"], None).payment
    assert p.ticket_params.face_value == bytes([175])
    assert not p.ticket_params.HasField("expiration_params")
    assert (p.ticket_params.recipient, p.ticket_params.seed) == (ORCH_ADDRESS, info.ticket_params.seed)
    assert p.expected_price == info.price_info


def test_seg_creds_capabilities_normalized(signer):
    caps = proto.Capabilities(bitstring=[(1 << 35) | 1], mandatories=[0], version="0.9")
    model = caps.constraints.PerCapability[35].models["sd"]
    model.warm, model.capacity, model.runnerVersion, model.capacityInUse = True, 2, "v1", 1
    body = ok(signer, orch_info(), type="fixed", capabilities=b64(caps.SerializeToString()))
    seg = check_payment(body["payment"], body["segCreds"]).seg
    assert dict(seg.capabilities.capacities) == {0: 1, 35: 1}
    m = seg.capabilities.constraints.PerCapability[35].models["sd"]
    assert (m.warm, m.capacity, m.runnerVersion, m.capacityInUse) == (True, 2, "v1", 0)
    assert list(seg.capabilities.bitstring) == [(1 << 35) | 1] and seg.capabilities.version == "0.9"
    assert seg.auth_token.session_id == "sess-1"


# -- §4.10 auth hook ------------------------------------------------------------------------------------------

def test_auth_hook(clock):
    calls = []

    def hook(headers, state):
        calls.append((headers, state))
        return replies.pop(0)

    signer = make_signer(SignerConfig(auth_hook=hook), clock)
    info = orch_info(face_value=15)  # EV 3 = the fixed price: every call pays one ticket
    replies = [{"status": 403, "reason": "go away"}]
    assert err(signer, info, type="fixed") == (403, "go away")
    replies = [{"status": 401}]
    assert err(signer, info, type="fixed") == (401, "signer auth rejected request with status 401")
    replies = [{"status": 0}]
    assert err(signer, info, type="fixed") == (500, "Internal Server Error")
    replies = [{"status": 200, "maxPrice": {"price": "x", "currency": "wei", "unit": "fixed"}}]
    status, message = err(signer, info, type="fixed")
    assert status == 502 and message.startswith("signer auth invalid maxPrice: ")
    replies = [{"status": 200, "maxPrice": {"price": 2, "currency": "wei", "unit": "fixed"}}]
    assert err(signer, info, type="fixed") == (
        481, "orchestrator price 3.000 exceeds auth webhook maxPrice ceiling 2.000")
    now_s = clock.now_ns // 10**9
    replies = [{"status": 200, "expiry": now_s + 60, "auth_id": "user-1"}]
    body = ok(signer, info, type="fixed", headers={"x-tenant": ["t"]})
    assert calls[-1][0] == {"X-Tenant": ["t"]} and calls[-1][1]["Type"] == "fixed"
    st = state_of(body)
    assert (st.auth_expiry, st.auth_id) == (now_s + 60, "user-1")
    n = len(calls)
    # Cached until expiry: the hook is skipped; a different Signer-Auth-Id header is refused (masked 500).
    body2 = ok(signer, info, type="fixed", ManifestID="m", state=body["state"])
    assert len(calls) == n
    assert err(signer, info, type="fixed", ManifestID="m", state=body2["state"],
               headers={"Signer-Auth-Id": ["user-2"]}) == (500, "Internal Server Error")


# -- HTTP layer -----------------------------------------------------------------------------------------------

def test_http_layer(clock):
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from lpcore.signer import create_app

    signer = make_signer(SignerConfig(max_body_bytes=4096, discovery=[]), clock)
    with TestClient(create_app(signer), base_url="http://127.0.0.1") as client:
        r = client.post("/sign-orchestrator-info")
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.content == json.dumps({"address": signer.checksum_address, "signature": "0x" +
                                        signer.orchestrator_info_sig.hex()}, separators=(",", ":")).encode() + b"\n"
        r = client.get("/sign-orchestrator-info")
        assert r.status_code == 405 and "POST" in r.headers["allow"]
        r = client.get("/nope")
        assert (r.status_code, r.text) == (404, "404 page not found\n")
        r = client.post("/generate-live-payment", content=b"x" * 5000)
        assert r.status_code == 413 and r.json() == {"error": {"message": "request body too large"}}
        r = client.post("/generate-live-payment", content=b"not json")
        assert r.status_code == 400 and r.headers["content-type"] == "application/json"
        assert r.json()["error"]["message"].startswith("invalid character")
        r = client.get("/healthz")
        assert r.status_code == 200
        # Discovery configured but empty: 503 with the masked message.
        r = client.get("/discover-orchestrators")
        assert r.status_code == 503 and r.json() == {"error": {"message": "Service Unavailable Error"}}
        info = orch_info()
        r = client.post("/generate-live-payment", json={"orchestrator": b64(info.SerializeToString()), "type": "fixed"})
        assert r.status_code == 200
        check_payment(r.json()["payment"], r.json()["segCreds"])


def test_discovery_filter(clock):
    pool = [{"address": "https://a", "capabilities": ["p/m1", "p/m2"]}, {"address": "https://b", "score": 0},
            {"address": "https://c", "capabilities": ["q/x"], "runners": [{"url": "u", "app": "x"}]}]
    signer = make_signer(SignerConfig(discovery=pool), clock)
    assert json.loads(signer.discover_orchestrators([]).body) == [
        {"address": "https://a", "score": 1, "capabilities": ["p/m1", "p/m2"]}, {"address": "https://b"},
        {"address": "https://c", "score": 1, "capabilities": ["q/x"], "runners": [{"url": "u", "app": "x"}]}]
    assert [o["address"] for o in json.loads(signer.discover_orchestrators(["q/x", "", "p/m2"]).body)] == [
        "https://a", "https://c"]
    assert json.loads(signer.discover_orchestrators(["none"]).body) == []
    # Without a discovery list the route does not exist.
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from lpcore.signer import create_app

    with TestClient(create_app(make_signer(clock=clock))) as client:
        assert client.get("/discover-orchestrators").status_code == 404


def test_chain_unavailable_is_503(clock):
    class Broken:
        def snapshot(self):
            raise ConnectionError("rpc down")

    signer = make_signer(clock=clock)
    signer.chain = Broken()
    assert err(signer, orch_info(), type="fixed") == (503, "Service Unavailable Error")


def test_key_never_in_repr(signer):
    assert SIGNER_KEY.hex() not in repr(signer) and SIGNER_KEY.hex() not in repr(vars(signer))


def test_auth_webhook_over_http(clock):
    from lpcore.signer import webhook

    seen = []
    answers = [(200, {"status": 200, "expiry": 5, "auth_id": "u"}), (503, {}), (200, [1])]

    def reply(path, headers, body):
        seen.append((headers, json.loads(body)))
        return answers.pop(0)

    with JsonPeer(reply) as peer:
        hook = webhook(f"{peer.url}/auth", {"X-Key": "k"})
        signer = make_signer(SignerConfig(auth_hook=hook), clock)
        body = ok(signer, orch_info(), type="fixed", headers={"authorization": ["Bearer t"]})
        headers, sent = seen[0]
        assert headers["X-Key"] == "k" and headers["Content-Type"] == "application/json"
        assert sent["headers"] == {"Authorization": ["Bearer t"]} and sent["state"]["Type"] == "fixed"
        assert (state_of(body).auth_expiry, state_of(body).auth_id) == (5, "u")
        assert err(signer, orch_info(), type="fixed") == (500, "Internal Server Error")  # webhook answered 503
        assert err(signer, orch_info(), type="fixed") == (500, "Internal Server Error")  # reply not an object


def test_unexpected_errors_are_masked(clock, caplog):
    signer = make_signer(clock=clock)
    signer._seg_creds = lambda *a: 1 / 0  # a bug deep in the handler
    status, message = err(signer, orch_info(), type="fixed")
    assert (status, message) == (500, "Internal Server Error")


def test_one_sign_batch_call_per_request(clock):
    calls = []

    class Counting(pm.Signer):
        def sign_batch(self, hashes, threads=None):
            calls.append(len(hashes))
            return super().sign_batch(hashes, threads=threads)

    signer = make_signer(clock=clock)
    counted = type(signer)(SIGNER_KEY, signer.chain, SignerConfig(), clock=clock, signer_factory=Counting)
    body = ok(counted, orch_info(price=(3500, 1)), type="fixed")
    assert calls == [100]
    assert len(check_payment(body["payment"], body["segCreds"]).nonces) == 100


def test_auth_id_header_binds_without_webhook(signer):
    # Step 20 runs without a webhook too: a trusted proxy's Signer-Auth-Id binds the session to its user.
    info = orch_info(face_value=15)
    body = ok(signer, info, type="fixed", headers={"signer-auth-id": ["alice"]})
    assert state_of(body).auth_id == "alice"
    assert call(signer, info, type="fixed", ManifestID="m", state=body["state"],
                headers={"signer-auth-id": ["alice"]})[0] == 200
    assert call(signer, info, type="fixed", ManifestID="m", state=body["state"])[0] == 200  # header absent: kept
    assert err(signer, info, type="fixed", ManifestID="m", state=body["state"],
               headers={"Signer-Auth-Id": ["mallory"]}) == (500, "Internal Server Error")


def test_out_of_range_ticket_params_are_400(signer):
    # Wider than 256 bits would corrupt the ticket hash (spec/pm.md §1.4); a negative round cannot be packed.
    status, message = err(signer, orch_info(face_value=2**256, win_prob=1), type="fixed")
    assert status == 400 and message.startswith(PREFIX + "face_value must be in [0, 2**256)")
    status, message = err(signer, orch_info(creation_round=(-1, b"\x01" * 32)), type="fixed")
    assert status == 400 and message.startswith(PREFIX + "creation_round must be in [0, 2**63)")


def test_bench_row_peer_computes_the_same_payment():
    """The benchmark's peer (a coincurve per-ticket loop) signs byte-identical payments (RFC 6979)."""
    from lpcore._bench import signer as _bench

    (case,) = _bench.rows(0)
    ours = json.loads(case.ours().body)
    (peer,) = case.peers.values()
    theirs = json.loads(peer().body)
    assert ours["payment"] == theirs["payment"] and ours["segCreds"] == theirs["segCreds"]
    assert len(check_payment(ours["payment"], ours["segCreds"]).nonces) == 100


def test_webhook_failures_are_lpcore_errors():
    """A webhook that answers badly raises AuthWebhookFailed (an LpcoreError and ValueError; mapped to 500)."""
    from lpcore.errors import LpcoreError
    from lpcore.signer.auth import AuthWebhookFailed, webhook

    replies = {"/500": (500, {}), "/list": (200, [1]), "/ok": (200, {"status": 200})}
    with JsonPeer(lambda path, headers, body: replies[path]) as peer:
        assert webhook(peer.url + "/ok")({}, {}) == {"status": 200}
        for path in ("/500", "/list"):
            with pytest.raises(AuthWebhookFailed) as e:
                webhook(peer.url + path)({}, {})
            assert isinstance(e.value, LpcoreError) and isinstance(e.value, ValueError)
