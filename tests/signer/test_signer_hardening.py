"""Regression tests for the adversarial review of the remote signer (issue 15 items 1, 2 and 13, issue 10's CLI).

Every request-controlled size has a named limit; each is tested on both sides. Bad input gets a 4xx with a
clear message, never a 500, a hang or a dropped connection.
"""

from __future__ import annotations

import http.client
import json
import threading

import pytest

pytest.importorskip("google.protobuf")  # the signer extra

from tests.signer.helpers import (
    SIGNER_KEY,
    ServerThread,
    b64,
    call,
    check_payment,
    err,
    free_socket,
    make_signer,
    ok,
    orch_info,
    signed_state,
    state_of,
)
from lpcore import keccak256, pm
from lpcore.signer import SignerConfig, gojson, proto, wire
from lpcore.signer import request as signer_request
from lpcore.signer.state import MAX_RATIONAL_EXPONENT, MAX_RATIONAL_LENGTH, parse_rat


pytestmark = pytest.mark.filterwarnings("ignore:Using .httpx. with .starlette.testclient")

LIVE_UNIT = {"currency": "wei", "unit": "seconds"}


def bounded(fn, *args, limit_s: float = 60.0):
    """Run ``fn(*args)`` in a thread and return its result; a liveness bound (not a timing assertion) so that
    a regression to the unbounded price parser fails instead of hanging the suite."""
    out: list = []
    t = threading.Thread(target=lambda: out.append(fn(*args)), daemon=True)
    t.start()
    t.join(limit_s)
    assert out, f"{fn.__name__} did not return within {limit_s} s"
    return out[0]


# -- item 1: pre-auth CPU denial of service -----------------------------------------------------------------

def test_huge_price_exponent_is_400_not_a_hang(signer):
    raw = json.dumps({"orchestrator": b64(orch_info().SerializeToString()), "type": "live",
                      "maxPrice": {"price": "1e999999999", **LIVE_UNIT}}).encode()
    out = bounded(signer.generate_live_payment, raw)
    assert out.status == 400
    assert json.loads(out.body)["error"]["message"] == (
        f"maxPrice.price has an exponent outside ±{MAX_RATIONAL_EXPONENT}")


@pytest.mark.parametrize("price, status", [
    (f"1e{MAX_RATIONAL_EXPONENT}", 200),       # an enormous ceiling: accepted
    (f"1e{MAX_RATIONAL_EXPONENT + 1}", 400),
    (f"1e-{MAX_RATIONAL_EXPONENT}", 481),      # a tiny ceiling: parsed, and the orchestrator is above it
    (f"1e-{MAX_RATIONAL_EXPONENT + 1}", 400),
    ("1" * MAX_RATIONAL_LENGTH, 200),
    ("1" * (MAX_RATIONAL_LENGTH + 1), 400),
    ("1" * 5000, 400),                          # 500 before: int() refused more than 4300 digits
    ("1e" + "1" * 5000, 400),                   # a 5000-digit exponent
    ("0." + "0" * 4998 + "1", 400),
])
def test_price_digit_and_exponent_limits(signer, price, status):
    got, body, _ = call(signer, orch_info(), type="live", maxPrice={"price": price, **LIVE_UNIT})
    assert got == status, body
    if status == 400:
        assert body["error"]["message"] in (f"maxPrice.price has more than {MAX_RATIONAL_LENGTH} characters",
                                            f"maxPrice.price has an exponent outside ±{MAX_RATIONAL_EXPONENT}")


def test_parse_rat_bounds_every_caller():
    assert parse_rat("1" * MAX_RATIONAL_LENGTH) == int("1" * MAX_RATIONAL_LENGTH)
    for bad in ("1" * (MAX_RATIONAL_LENGTH + 1), "1e1001", "1/" + "7" * 300, "-1e-1001"):
        with pytest.raises(ValueError):
            parse_rat(bad)


def test_huge_balance_in_a_signed_state_is_invalid_state(signer):
    st = state_of(ok(signer, orch_info(), type="live"))
    for balance in ("1" * 5000, "1e999999999"):
        bad = signed_state(st.replace(balance=balance))
        assert bounded(lambda: err(signer, orch_info(), type="live", ManifestID="m", state=bad)) == (
            400, "invalid state")


def test_price_is_parsed_after_authorization_and_nothing_is_signed_before(clock):
    signed = []

    class Counting(pm.Signer):
        def sign_batch(self, hashes, threads=None):
            signed.append(len(hashes))
            return super().sign_batch(hashes, threads=threads)

    hooked = []

    def hook(headers, state):
        hooked.append(state)
        return {"status": 403, "reason": "who are you"}

    base = make_signer(clock=clock)
    signer = type(base)(SIGNER_KEY, base.chain, SignerConfig(auth_hook=hook), clock=clock, signer_factory=Counting)
    # A price the parser refuses (and, before the fix, one it would have spent hours on) never reaches it: the
    # webhook answers first, and no ticket is signed for a caller the webhook refused.
    for price in ("0", "1e999999999"):
        out = bounded(lambda: err(signer, orch_info(), type="live", maxPrice={"price": price, **LIVE_UNIT}))
        assert out == (403, "who are you")
    assert len(hooked) == 2 and signed == []
    # The webhook still sees the complete new state (balance and nonce after this payment), as in go-livepeer.
    assert (hooked[0]["Balance"], hooked[0]["SenderNonce"], hooked[0]["Type"]) == ("5", 1, "live")
    # Nothing to pay (482) is answered before the webhook is asked, as in go-livepeer.
    assert err(signer, orch_info(win_prob=0), type="live") == (482, "no tickets")
    assert len(hooked) == 2


def test_json_nesting_depth_limit(signer):
    limit = gojson.MAX_JSON_DEPTH
    info = b64(orch_info().SerializeToString())

    def body(depth: int) -> bytes:
        # The root object is level 1; the unknown key holds depth - 1 more levels of arrays and objects.
        inner = "".join("[" if i % 2 else '{"k":' for i in range(depth - 1))
        closing = "".join("]" if i % 2 else "}" for i in reversed(range(depth - 1)))
        return ('{"orchestrator": "%s", "type": "fixed", "x": %s0%s}' % (info, inner, closing)).encode()

    assert signer.generate_live_payment(body(limit)).status == 200
    for depth in (limit + 1, 1000, 100_000):
        out = signer.generate_live_payment(body(depth))
        assert out.status == 400
        assert json.loads(out.body)["error"]["message"] == f"JSON nesting depth exceeds {limit}"
    # Brackets inside strings (even with escaped quotes) do not count.
    raw = json.dumps({"orchestrator": info, "type": "fixed", "x": '\\"[[[' * 1000}).encode()
    assert signer.generate_live_payment(raw).status == 200
    # The signed state is decoded by the same bounded decoder.
    with pytest.raises(gojson.GoJSONError, match="nesting depth"):
        gojson.loads_whole(b"[" * 5000)


def test_capabilities_bitstring_limit(signer):
    words = wire.MAX_CAPABILITY_WORDS
    caps = proto.Capabilities(bitstring=[2**64 - 1] * words, mandatories=[1] * words)
    body = ok(signer, orch_info(), type="fixed", capabilities=b64(caps.SerializeToString()))
    assert len(check_payment(body["payment"], body["segCreds"]).seg.capabilities.capacities) == 64 * words
    for field in ("bitstring", "mandatories"):
        big = proto.Capabilities(**{field: [2**64 - 1] * (words + 1)})
        assert err(signer, orch_info(), type="fixed", capabilities=b64(big.SerializeToString())) == (
            400, f"capabilities {field} has {words + 1} words, more than {words}")
    # The review's request: 0.93 MB of bitstring used to come back as a 52 MB response.
    huge = proto.Capabilities(bitstring=[2**64 - 1] * 70_000)  # ~0.93 MB of base64
    out = signer.generate_live_payment(json.dumps({"orchestrator": b64(orch_info().SerializeToString()),
                                                   "type": "fixed", "capabilities": b64(huge.SerializeToString())})
                                       .encode())
    assert out.status == 400 and len(out.body) < 200


def test_body_size_limit_in_the_service(clock):
    signer = make_signer(SignerConfig(max_body_bytes=4096), clock)
    raw = json.dumps({"orchestrator": b64(orch_info().SerializeToString()), "type": "fixed"}).encode()
    assert signer.generate_live_payment(raw.ljust(4096)).status == 200
    out = signer.generate_live_payment(raw.ljust(4097))
    assert (out.status, json.loads(out.body)) == (413, {"error": {"message": "request body too large"}})


# -- item 2: 500s where a 4xx belongs -------------------------------------------------------------------------

@pytest.mark.parametrize("pixels", ["1" * 5000, "9" * 20, "-" + "9" * 5000])
def test_huge_integer_literal_is_400(signer, pixels):
    raw = ('{"orchestrator": "%s", "inPixels": %s}' % (b64(orch_info().SerializeToString()), pixels)).encode()
    status, body, _ = call(signer, raw=raw)
    assert status == 400
    assert body["error"]["message"].startswith("json: cannot unmarshal number")
    assert body["error"]["message"].endswith("into Go struct field RemotePaymentRequest.inPixels of type int64")


def test_lone_surrogate_in_manifest_id_is_400(signer):
    raw = ('{"orchestrator": "%s", "type": "fixed", "ManifestID": "ab\\ud800cd"}'
           % b64(orch_info().SerializeToString())).encode()
    status, body, _ = call(signer, raw=raw)
    assert status == 400 and body["error"]["message"].startswith("invalid ManifestID")
    # Go's decoder turns a lone surrogate into U+FFFD; other string fields follow the same rule.
    assert gojson.as_string(gojson.loads_first(b'"a\\udc00"'), "S", "f") == "a\ufffd"


def test_unreachable_webhook_is_502_with_a_clear_body(clock):
    from lpcore.signer import webhook

    sock = free_socket()  # bound but never listening: connections are refused
    try:
        hook = webhook(f"http://127.0.0.1:{sock.getsockname()[1]}/auth", timeout_s=2)
        signer = make_signer(SignerConfig(auth_hook=hook), clock)
        status, message = err(signer, orch_info(), type="fixed")
    finally:
        sock.close()
    assert status == 502 and message.startswith("signer auth webhook unreachable")


def test_webhook_that_never_answers_is_502(clock):
    from lpcore.signer import webhook

    sock = free_socket()
    sock.listen(1)  # the kernel accepts the connection; nobody ever answers
    try:
        signer = make_signer(SignerConfig(auth_hook=webhook(f"http://127.0.0.1:{sock.getsockname()[1]}/",
                                                            timeout_s=0.5)), clock)
        assert err(signer, orch_info(), type="fixed") == (502, "signer auth webhook unreachable: timed out")
    finally:
        sock.close()


def test_webhook_reply_with_an_impossible_status_is_500(clock):
    for reply in ({"status": 99}, {"status": 600}, {"status": 200, "expiry": 2**63}, {"status": True}):
        signer = make_signer(SignerConfig(auth_hook=lambda h, s, r=reply: r), clock)
        assert err(signer, orch_info(), type="fixed") == (500, "Internal Server Error")


def _raw_480(server_url: str, transcoder: str, clock) -> http.client.HTTPResponse:
    info = orch_info(auth_expiration=clock.now_ns // 10**9 + 100, transcoder=transcoder)
    host, port = server_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("POST", "/generate-live-payment",
                 json.dumps({"orchestrator": b64(info.SerializeToString()), "type": "fixed"}))
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp


@pytest.mark.parametrize("transcoder, expected", [
    ("https://orch.example:8935", "https://orch.example:8935"),
    ("https://\u043erch.example/\u20ac", "https://%D0%BErch.example/%E2%82%AC"),  # not Latin-1: 500 before
    ("https://örch.example/", "https://%C3%B6rch.example/"),                 # Latin-1, but not ASCII
    ("https://a.example/\r\nX-Evil: 1", "https://a.example/%0D%0AX-Evil:%201"),  # connection dropped before
    ("https://a.example/\x00\x7f\t", "https://a.example/%00%7F%09"),
])
def test_480_header_is_always_a_valid_field_value(clock, signer, transcoder, expected):
    pytest.importorskip("uvicorn")
    from lpcore.signer import create_app

    srv = ServerThread(create_app(signer)).start()
    try:
        resp = _raw_480(srv.url, transcoder, clock)
    finally:
        srv.stop()
    assert resp.status == 480
    assert resp.getheader("Livepeer-Orchestrator-URL") == expected
    assert resp.getheader("X-Evil") is None


def test_480_header_length_limit(signer, clock):
    limit = wire.MAX_ORCHESTRATOR_URL_BYTES
    base = "https://o.example/"
    for length, status in ((limit, 480), (limit + 1, 400)):
        info = orch_info(auth_expiration=clock.now_ns // 10**9 + 100, transcoder=base + "a" * (length - len(base)))
        got, body, headers = call(signer, info, type="fixed")
        assert got == status
        if status == 400:
            assert body["error"]["message"] == (
                f"orchestrator transcoder URL is longer than {limit} bytes")


# -- item 13: what the signer signs, and for whom ----------------------------------------------------------

@pytest.mark.parametrize("mid, status", [
    ("a" * signer_request.MAX_MANIFEST_ID_LENGTH, 200),
    ("a" * (signer_request.MAX_MANIFEST_ID_LENGTH + 1), 400),
    ("0a1b2c3d", 200),                        # go-livepeer's RandomManifestID: 4 random bytes in hex
    ("35_stabilityai/sd-turbo", 200),          # capability_model ids
    ("manifest-1.v2~x", 200),
    ("has space", 400),
    ("per%cent", 400),
    ("colon:x", 400),
    ("nul\x00", 400),
    ("caf\u00e9", 400),
    ("\ufffd", 400),
    ("\u212a", 400),
])
def test_manifest_id_rule(signer, mid, status):
    info = orch_info()
    got, body, _ = call(signer, info, type="fixed", ManifestID=mid)
    assert got == status, body
    if status == 200:
        check_payment(body["payment"], body["segCreds"], manifest_id=mid)
    else:
        assert body["error"]["message"].startswith("invalid ManifestID: ")
    # The same rule with state (where a ManifestID is mandatory).
    st = ok(signer, info, type="fixed")["state"]
    assert call(signer, info, type="fixed", ManifestID=mid, state=st)[0] == status


def test_seg_creds_can_never_be_a_ticket_signature():
    """segCreds signs keccak256(manifestId || 32 zero bytes || keccak256("")) in the same EIP-191 domain as
    tickets, whose preimage is 168 bytes (no aux data) or 232 bytes (spec/pm.md §1.3). No accepted ManifestID
    makes a segCreds input as long as a ticket preimage, so no crafted ID yields a ticket signature."""
    with_aux = pm.Ticket(recipient=b"\1" * 20, sender=b"\2" * 20, face_value=1, win_prob=1, sender_nonce=1,
                         recipient_rand_hash=b"\3" * 32, creation_round=0, creation_round_block_hash=keccak256(b""))
    without = pm.Ticket(recipient=b"\1" * 20, sender=b"\2" * 20, face_value=1, win_prob=1, sender_nonce=1,
                        recipient_rand_hash=b"\3" * 32, creation_round=0, creation_round_block_hash=b"\0" * 32)
    preimage_lengths = {168 + len(t.aux_data()) for t in (with_aux, without)}
    assert preimage_lengths == {168, 232}
    for length in range(1, signer_request.MAX_MANIFEST_ID_LENGTH + 1):
        assert length + 64 not in preimage_lengths
    # The review's shape: a 168-character ID (and the 104-character one for the short preimage) is refused.
    signer = make_signer()
    for length in (104, 168):
        assert err(signer, orch_info(), type="fixed", ManifestID="a" * length)[0] == 400


def test_public_listener_refusal_names_the_cli_flag(clock):
    from lpcore.signer.auth import SignerSetupError, check_listener

    signer = make_signer(clock=clock)
    with pytest.raises(SignerSetupError) as exc:
        check_listener(signer, "0.0.0.0")
    assert "--allow-no-auth" in str(exc.value) and "allow_no_auth=True" not in str(exc.value)
    check_listener(signer, "127.0.0.1")
    check_listener(signer, "::1")
    check_listener(make_signer(SignerConfig(allow_no_auth=True), clock), "0.0.0.0")
    check_listener(make_signer(SignerConfig(auth_hook=lambda h, s: {"status": 200}), clock), "0.0.0.0")


def test_app_refuses_non_loopback_requests_without_auth(clock):
    """An ASGI server started by hand (uvicorn --host 0.0.0.0 ...) is refused per request, not only by serve()."""
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from lpcore.signer import create_app

    raw = json.dumps({"orchestrator": b64(orch_info().SerializeToString()), "type": "fixed"})
    for config, public_status in ((SignerConfig(), 403), (SignerConfig(allow_no_auth=True), 200),
                                  (SignerConfig(auth_hook=lambda h, s: {"status": 200}), 200)):
        app = create_app(make_signer(config, clock))
        with TestClient(app, base_url="http://10.1.2.3") as public, \
                TestClient(app, base_url="http://127.0.0.1") as local:
            r = public.post("/generate-live-payment", content=raw)
            assert r.status_code == public_status
            if public_status == 403:
                assert "--allow-no-auth" in r.json()["error"]["message"]
                assert public.post("/sign-orchestrator-info").status_code == 403
            assert local.post("/generate-live-payment", content=raw).status_code == 200
            assert public.get("/healthz").status_code == 200


def test_capability_entry_limits(signer):
    limit = wire.MAX_CAPABILITY_ENTRIES

    def caps_with(n: int, kind: str):
        caps = proto.Capabilities()
        for i in range(n):
            if kind == "capacities":
                caps.capacities[i] = 1
            elif kind == "constraints":
                caps.constraints.PerCapability[i].SetInParent()
            else:
                caps.constraints.PerCapability[i % 8].models[f"m{i}"].warm = True
        return b64(caps.SerializeToString())

    for kind in ("capacities", "constraints", "model constraints"):
        assert call(signer, orch_info(), type="fixed", capabilities=caps_with(limit, kind))[0] == 200
        assert err(signer, orch_info(), type="fixed", capabilities=caps_with(limit + 1, kind)) == (
            400, f"capabilities has {limit + 1} {kind}, more than {limit}")


def test_json_value_count_limit(signer):
    limit = gojson.MAX_JSON_VALUES
    info = b64(orch_info().SerializeToString())

    def body(values: int) -> bytes:
        # The root object with three keys counts as 5 separators; each further array element adds one.
        zeros = ",".join(["0"] * (values - 5))
        return ('{"orchestrator": "%s", "type": "fixed", "x": [%s]}' % (info, zeros)).encode()

    assert gojson.structure(body(limit)) == (2, limit)
    assert signer.generate_live_payment(body(limit)).status == 200
    out = signer.generate_live_payment(body(limit + 1))
    assert (out.status, json.loads(out.body)["error"]["message"]) == (400, f"JSON has more than {limit} values")
    # The review's shape of the cost: 1 MiB of [0,0,...] is refused by the scan, never decoded value by value.
    out = signer.generate_live_payment(b'{"x":[' + b"0," * 500_000 + b"0]}")
    assert out.status == 400
