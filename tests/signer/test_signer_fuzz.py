"""Property tests: no input makes the signer raise, answer outside the spec's status set, or leak a traceback."""

from __future__ import annotations

import base64
import json

import pytest

pytest.importorskip("google.protobuf")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.signer.helpers import Clock, b64, make_signer, orch_info  # noqa: E402
from lpcore.signer import PaymentState, gojson  # noqa: E402

SIGNER = make_signer(clock=Clock())
GOOD_INFO = b64(orch_info().SerializeToString())
ALLOWED = {200, 400, 480, 481, 482, 500, 503}
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
keys = st.sampled_from(["orchestrator", "state", "ManifestID", "type", "inPixels", "app", "maxPrice",
                        "capabilities", "ORCHESTRATOR", "manifestid", "x"])


def _check(out) -> None:
    assert out.status in ALLOWED
    body = json.loads(out.body)
    if out.status != 200:
        assert set(body) == {"error"} and isinstance(body["error"]["message"], str)
        assert "Traceback" not in body["error"]["message"]


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data):
    _check(SIGNER.generate_live_payment(data))


@FUZZ
@given(st.dictionaries(keys, json_values, max_size=6), st.booleans())
def test_random_requests(fields, with_info):
    if with_info:
        fields.setdefault("orchestrator", GOOD_INFO)
    _check(SIGNER.generate_live_payment(json.dumps(fields).encode()))


@FUZZ
@given(st.binary(max_size=200), st.sampled_from(["fixed", "live", "lv2v", ""]))
def test_random_orchestrator_info(data, job):
    _check(SIGNER.generate_live_payment(json.dumps({"orchestrator": b64(data), "type": job,
                                                    "inPixels": 10}).encode()))


@FUZZ
@given(st.binary(max_size=120), st.integers(0, 355))
def test_random_state_and_bit_flips(sig, index):
    first = json.loads(SIGNER.generate_live_payment(json.dumps({"orchestrator": GOOD_INFO, "type": "fixed"}).encode())
                       .body)
    state = bytearray(base64.b64decode(first["state"]["State"]))
    state[index % len(state)] ^= 1 << (index % 8)
    for st_obj in ({"State": b64(bytes(state)), "Sig": first["state"]["Sig"]},
                   {"State": first["state"]["State"], "Sig": b64(sig)}):
        out = SIGNER.generate_live_payment(json.dumps({"orchestrator": GOOD_INFO, "type": "fixed", "ManifestID": "m",
                                                       "state": st_obj}).encode())
        _check(out)
        assert out.status == 400 and json.loads(out.body)["error"]["message"] == "invalid sig"


@FUZZ
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_state_decoder_only_raises_value_error(data):
    try:
        PaymentState.from_json(data)
    except ValueError:
        pass


@FUZZ
@given(st.binary(max_size=100))
def test_go_json_decoder_only_raises_its_error(data):
    try:
        gojson.loads_first(data)
    except gojson.GoJSONError:
        pass
