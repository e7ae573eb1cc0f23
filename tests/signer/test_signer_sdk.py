"""The official Python SDK (livepeer-gateway 1.0.0) drives lpcore's remote signer over real HTTP on 127.0.0.1.

Everything the SDK receives is checked with lpcore's own recovery: every ticket and every segment credential
must be signed by the signer's address; nonces must continue across calls through the round-tripped state;
482 and the refresh (480) paths must behave as the SDK expects (spec/remote_signer.md §8).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
lg = pytest.importorskip("livepeer_gateway")

from livepeer_gateway import lp_rpc_pb2 as sdk_pb  # noqa: E402
from livepeer_gateway import remote_signer as rs  # noqa: E402
from livepeer_gateway.errors import PaymentError, SignerRefreshRequired, SkipPaymentCycle  # noqa: E402

from tests._servers import grpc_orchestrator  # noqa: E402
from tests.signer.helpers import (  # noqa: E402
    MAX_WIN_PROB,
    SIGNER_ADDRESS,
    JsonPeer,
    ServerThread,
    b64,
    check_payment,
    make_signer,
    orch_info,
)
from lpcore import keccak256, pm  # noqa: E402
from lpcore.signer import PaymentState, SignerConfig, create_app  # noqa: E402

VECTOR_ORCH_SIG = ("47d66008c2c5b0671b8e7b43b62245ae9c4ba5f6ff7e94328b68eb45090cb108"
                   "0815dec67a20bdec15ce794c9ce271fa8e6552d6b0976ab7a0b92d5516b32ef31c")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # urllib honours proxy variables; the signer is local.
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    rs.get_orch_info_sig.cache_clear()
    rs.get_signer_info.cache_clear()
    yield
    rs.get_orch_info_sig.cache_clear()
    rs.get_signer_info.cache_clear()


@pytest.fixture
def server(signer):
    srv = ServerThread(create_app(signer)).start()
    yield srv
    srv.stop()


def state_of(session) -> PaymentState:
    return PaymentState.from_json(base64.b64decode(session._state["State"]))


def test_get_orch_info_sig_is_the_vector_and_recovers(server):
    material = rs.get_orch_info_sig(server.url)
    assert material.address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert material.sig == "0x" + VECTOR_ORCH_SIG
    digest = keccak256(material.address.encode("ascii"))
    sig = bytes.fromhex(material.sig[2:])
    got = pm.recover_batch(np.frombuffer(digest, np.uint8).reshape(1, 32), np.frombuffer(sig, np.uint8).reshape(1, 65))
    assert bytes(got[0]) == SIGNER_ADDRESS
    # The async variant reads the same endpoint.
    material2 = asyncio.run(rs.get_signer_info(server.url))
    assert (material2.address, material2.sig) == (material.address, material.sig)


def test_payment_session_lv2v_nonces_continue(server, clock):
    # lv2v bills 1280x720x30 pixels per second at the *initial* price; 60 s opening charge.
    info = orch_info(sdk_pb.OrchestratorInfo, price=(1, 1000), face_value=500_000, win_prob=MAX_WIN_PROB // 5)
    # Capabilities as lv2v.start_lv2v builds them: capacity {35: 1} and a model constraint, no bitstring.
    caps = sdk_pb.Capabilities()
    caps.capacities[35] = 1
    caps.constraints.PerCapability[35].models["streamdiffusion"].warm = True
    session = rs.PaymentSession(server.url, info, type="lv2v", capabilities=caps)
    first = session.get_payment()
    checked = check_payment(first.payment, first.seg_creds)
    # fee = 1_658_880_000 px / 1000 = 1_658_880 wei, EV 100_000 -> 17 tickets, nonces 1..17.
    assert checked.nonces == list(range(1, 18))
    st = state_of(session)
    assert (st.sender_nonce, st.sequence_number, st.balance) == (17, 0, str(17 * 100_000 - 1_658_880))
    assert st.pm_session_id == "0x" + keccak256(b"rand").hex()
    seg_caps = checked.seg.capabilities
    assert dict(seg_caps.capacities) == {35: 1}
    assert seg_caps.constraints.PerCapability[35].models["streamdiffusion"].warm
    manifest = checked.seg.manifestId.decode()
    assert len(manifest) == 8  # random id when the first call has none

    session.set_manifest_id("manifest-1")
    clock.advance(5)
    second = session.get_payment()
    checked2 = check_payment(second.payment, second.seg_creds, manifest_id="manifest-1")
    # 5 s = 138_240_000 px = 138_240 wei; credit 41_120 -> one more ticket, nonce 18.
    assert checked2.nonces == [18]
    st2 = state_of(session)
    assert (st2.sender_nonce, st2.sequence_number, st2.state_id) == (18, 1, st.state_id)
    # The payment carries the orchestrator's ticket params verbatim and the current price.
    p = checked2.payment
    assert p.ticket_params.recipient_rand_hash == info.ticket_params.recipient_rand_hash
    assert p.ticket_params.seed == info.ticket_params.seed
    assert (p.expected_price.pricePerUnit, p.expected_price.pixelsPerUnit) == (1, 1000)
    assert checked2.seg.auth_token.token == b"tok"


def test_payment_session_untyped_keeps_initial_price(server):
    # go-livepeer's worked example: price 150/175 wei per pixel, 1000 pixels (sent through inPixels is not
    # possible with the SDK, which never sends it, so this uses the service directly).
    signer = make_signer()
    info = orch_info(price=(150, 175))
    body = json.dumps({"orchestrator": b64(info.SerializeToString()), "inPixels": 1000, "ManifestID": "m"}).encode()
    out = signer.generate_live_payment(body)
    assert out.status == 200, out.body
    reply = json.loads(out.body)
    checked = check_payment(reply["payment"], reply["segCreds"], manifest_id="m")
    assert checked.nonces == list(range(1, 26))  # ceil((6000/7) / 35) = 25 tickets
    st = PaymentState.from_json(base64.b64decode(reply["state"]["State"]))
    assert st.balance == "125/7"
    # The orchestrator's price drops to 3/4: billing keeps the initial price, expected_price is the new one.
    info2 = orch_info(price=(9, 14))
    body2 = json.dumps({"orchestrator": b64(info2.SerializeToString()), "inPixels": 1000, "ManifestID": "m",
                        "state": reply["state"]}).encode()
    reply2 = json.loads(signer.generate_live_payment(body2).body)
    checked2 = check_payment(reply2["payment"], reply2["segCreds"])
    assert checked2.nonces == list(range(26, 26 + 24))  # (6000/7 - 125/7) / 35 = 23.98 -> 24
    assert (checked2.payment.expected_price.pricePerUnit, checked2.payment.expected_price.pixelsPerUnit) == (9, 14)


def test_payment_session_refresh_path_gives_up_after_retries(server, signer):
    # Expired ticket params -> 480; with no retries left the SDK reports a PaymentError.
    signer.chain.update(last_seen_l1_block=1039)
    info = orch_info(sdk_pb.OrchestratorInfo)
    session = rs.PaymentSession(server.url, info, type="lv2v", max_refresh_retries=0)
    with pytest.raises(PaymentError, match="Signer refresh required after 0 retries"):
        session.get_payment()


class _Orchestrator(JsonPeer):
    """A stub orchestrator HTTP endpoint on 127.0.0.1: /refresh-payment and the live payment URL."""

    def __init__(self, fresh_info_b64: str):
        self.fresh_info_b64 = fresh_info_b64
        super().__init__(self._reply)

    def _reply(self, path: str, headers: dict, body: bytes):
        if path == "/refresh-payment":
            return 200, {"payment_params": self.fresh_info_b64}
        return 200, {}


def test_live_payment_session_fixed_482_and_refresh(server, signer, clock):
    info = orch_info(price=(3, 1), face_value=175, win_prob=MAX_WIN_PROB // 5)  # EV 35, 3 wei per call
    # Fresh params after the refresh; EV 70 exceeds the 64 wei of credit, so the retry pays one ticket.
    fresh = orch_info(price=(3, 1), face_value=350, win_prob=MAX_WIN_PROB // 5, rand=b"rand-2",
                      expiration_block=1100)
    orch = _Orchestrator(b64(fresh.SerializeToString()))
    try:
        challenge = rs.LivePaymentChallenge(payment_params=b64(info.SerializeToString()), manifest_id="manifest-1",
                                            payment_url=orch.url + "/live/payment")
        session = rs.LivePaymentSession(server.url, type="fixed", challenge=challenge, app="my-app")

        async def run():
            r1 = await session.get_payment()
            c1 = check_payment(r1.payment, r1.seg_creds, manifest_id="manifest-1")
            assert c1.nonces == [1] and state_of(session).balance == "32"
            r2 = await session.get_payment()
            assert check_payment(r2.payment, r2.seg_creds).nonces == [2]
            assert state_of(session).balance == "64"
            before = dict(session._state)
            # Credit 64 >= EV 35 covers this cycle: 482, state kept.
            with pytest.raises(SkipPaymentCycle):
                await session.get_payment()
            assert session._state == before
            # The params expire: 480 -> /refresh-payment (sender = signer address) -> retry with the new params.
            signer.chain.update(last_seen_l1_block=1039)
            r3 = await session.get_payment()
            c3 = check_payment(r3.payment, r3.seg_creds, manifest_id="manifest-1")
            st3 = state_of(session)
            assert c3.payment.ticket_params.recipient_rand_hash == keccak256(b"rand-2")
            assert c3.nonces == [1]  # new recipient_rand_hash: the PM session restarts
            assert st3.pm_session_id == "0x" + keccak256(b"rand-2").hex() and st3.app == "my-app"
            assert st3.sequence_number == 2

        asyncio.run(run())
        refresh = [r for r in orch.requests if r[0] == "/refresh-payment"]
        assert len(refresh) == 1
        assert json.loads(refresh[0][2]) == {"sender": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                                             "manifest_id": "manifest-1"}
    finally:
        orch.close()


def test_live_payment_session_send_payment_headers(server, signer):
    info = orch_info(price=(3, 1))
    orch = _Orchestrator("")
    try:
        challenge = rs.LivePaymentChallenge(payment_params=b64(info.SerializeToString()), manifest_id="mid-7",
                                            payment_url=orch.url + "/live/payment")
        session = rs.LivePaymentSession(server.url, type="live", challenge=challenge,
                                        max_price={"price": 3.5, "currency": "wei", "unit": "seconds"})
        asyncio.run(session.send_payment())
        (path, headers, body) = orch.requests[0]
        assert path == "/live/payment" and body == b""
        checked = check_payment(headers["Livepeer-Payment"], headers["Livepeer-Segment"], manifest_id="mid-7")
        assert checked.nonces == [1]  # live: 10 s opening charge x 3 wei = 30 <= EV 35 -> one ticket
    finally:
        orch.close()


def test_live_payment_session_480_without_state_and_481(server, signer, clock):
    # The auth token expires within 180 s: 480 before any state exists -> SignerRefreshRequired with the URL.
    info = orch_info(auth_expiration=clock.now_ns // 10**9 + 100, transcoder="https://orch.example:8935")
    challenge = rs.LivePaymentChallenge(payment_params=b64(info.SerializeToString()), manifest_id="m",
                                        payment_url="http://127.0.0.1:9/payment")
    session = rs.LivePaymentSession(server.url, type="live", challenge=challenge)
    with pytest.raises(SignerRefreshRequired) as err:
        asyncio.run(session.get_payment())
    assert err.value.orchestrator_url == "https://orch.example:8935"
    # A maxPrice below the orchestrator's price: 481 surfaces as an HTTP error with the go message.
    challenge2 = rs.LivePaymentChallenge(payment_params=b64(orch_info(price=(3, 1)).SerializeToString()),
                                         manifest_id="m", payment_url="http://127.0.0.1:9/payment")
    session2 = rs.LivePaymentSession(server.url, type="live", challenge=challenge2,
                                     max_price={"price": 2.5, "currency": "wei", "unit": "seconds"})
    with pytest.raises(lg.LivepeerHTTPError) as err2:
        asyncio.run(session2.get_payment())
    assert err2.value.status_code == 481
    assert "orchestrator price 3.000 exceeds request maxPrice ceiling 2.500" in str(err2.value)


def test_discover_orchestrators_through_sdk(clock):
    from livepeer_gateway.discovery import discover_orchestrators

    pool = [{"address": "https://o1:8935", "capabilities": ["live-video-to-video/streamdiffusion"]},
            {"address": "https://o2:8935", "capabilities": ["text-to-image/sd"]}]
    signer = make_signer(SignerConfig(discovery=pool), clock)
    srv = ServerThread(create_app(signer)).start()
    try:
        assert discover_orchestrators(signer_url=srv.url) == ["https://o1:8935", "https://o2:8935"]
    finally:
        srv.stop()


@pytest.mark.skipif(os.environ.get("LPCORE_SIGNER_SKIP_SUBPROCESS") == "1", reason="disabled")
def test_sdk_against_cli_subprocess(tmp_path):
    """``lpcore signer serve`` as a real process (key from the environment), driven by the SDK."""
    import subprocess
    import sys
    import time

    from tests.signer.helpers import SIGNER_KEY, free_socket

    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = dict(os.environ, LPCORE_SIGNER_KEY=SIGNER_KEY.hex(), PYTHONPATH=os.pathsep.join(sys.path))
    # The signer's own register(): the same parser `lpcore signer serve` builds, without other areas' commands.
    launcher = ("import argparse, sys; from lpcore.signer import cli; p = argparse.ArgumentParser(prog='lpcore'); "
                "cli.register(p.add_subparsers(dest='command', required=True)); a = p.parse_args(); "
                "sys.exit(a.func(a))")
    proc = subprocess.Popen([sys.executable, "-c", launcher, "signer", "serve", "--port", str(port),
                             "--l1-block", "1000", "--round", "50", "--round-hash", "11" * 32,
                             "--deposit", str(10**18), "--reserve", str(10**18), "--log-level", "warning"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                material = rs.get_orch_info_sig(url)
                break
            except lg.LivepeerGatewayError:
                rs.get_orch_info_sig.cache_clear()
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        assert material.address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        info = orch_info(sdk_pb.OrchestratorInfo, auth_expiration=int(time.time()) + 1800)
        session = rs.PaymentSession(url, info, type="fixed")
        checked = check_payment(session.get_payment().payment, None)
        assert checked.nonces == [1]
        assert checked.payment.expiration_params.creation_round == 50
        assert checked.payment.expiration_params.creation_round_block_hash == bytes.fromhex("11" * 32)
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert SIGNER_KEY.hex() not in err.decode(errors="replace")


def _self_signed_cert() -> tuple[bytes, bytes]:
    """A throwaway TLS certificate for 127.0.0.1 (the SDK pins it on first use, like a real orchestrator's)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def test_payment_session_480_refreshes_over_grpc(server, signer):
    """PaymentSession's refresh: 480 -> GetOrchestrator (gRPC/TLS on 127.0.0.1) -> retry with fresh params.

    The stub orchestrator also checks the OrchestratorRequest like go-livepeer's ``verifyOrchestratorReq``:
    the signature recovers, over keccak256(EIP-55 address string), to the 20-byte request address.
    """
    grpc = pytest.importorskip("grpc")
    pytest.importorskip("cryptography")

    requests = []
    fresh = orch_info(sdk_pb.OrchestratorInfo, rand=b"fresh", expiration_block=1100)

    def respond(request, context):
        requests.append(request)
        return fresh

    with grpc_orchestrator(respond, credentials=grpc.ssl_server_credentials([_self_signed_cert()]),
                           request_type=sdk_pb.OrchestratorRequest) as url:
        fresh.transcoder = url
        stale = orch_info(sdk_pb.OrchestratorInfo, transcoder=url)
        signer.chain.update(last_seen_l1_block=1039)  # the stale params expire: 480
        session = rs.PaymentSession(server.url, stale, type="fixed")
        got = session.get_payment()
        checked = check_payment(got.payment, got.seg_creds)
        assert checked.payment.ticket_params.recipient_rand_hash == keccak256(b"fresh")
        assert checked.nonces[0] == 1
        (req,) = requests
        assert req.address == SIGNER_ADDRESS and req.ignoreCapacityCheck
        digest = keccak256(pm.to_checksum_address(req.address).encode("ascii"))
        rec = pm.recover_batch(np.frombuffer(digest, np.uint8).reshape(1, 32),
                               np.frombuffer(req.sig, np.uint8).reshape(1, 65))
        assert bytes(rec[0]) == req.address


def test_concurrent_sessions_over_http(server):
    """Several sessions in parallel threads: every payment verifies and each session's nonces stay contiguous."""
    from concurrent.futures import ThreadPoolExecutor

    def session(i: int) -> list[int]:
        info = orch_info(sdk_pb.OrchestratorInfo, rand=b"rand-%d" % i, face_value=15)  # EV 3 = fixed price
        s = rs.PaymentSession(server.url, info, type="fixed")
        nonces = []
        for k in range(3):
            if k:
                s.set_manifest_id(f"m{i}")
            got = s.get_payment()
            nonces += check_payment(got.payment, got.seg_creds).nonces
        return nonces

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(session, range(6)))
    assert results == [[1, 2, 3]] * 6
