"""Discovery: TV6 ranking with suspension and the early-return ticks, against fake orchestrators over gRPC on
127.0.0.1 (slow, failing, incompatible, blocklisted, suspended), plus webhook and signer discovery against local
HTTP servers. Every wait is bounded (the ticks are scaled down)."""

from __future__ import annotations

import random
import time

import pytest

pytest.importorskip("grpc")
pytest.importorskip("google.protobuf")

from lpcore.errors import DiscoveryError  # noqa: E402
from lpcore.market import Suspender  # noqa: E402
from lpcore.market.discovery import (JobCaps, LocalInfo, SignerDiscovery, StaticDiscovery,  # noqa: E402
                                     WebhookDiscovery, get_orchestrators, grpc_orchestrator_request, grpc_query,
                                     is_compatible, parse_blocklist, parse_orch_addrs)

from tests._servers import grpc_orchestrator  # noqa: E402
from tests.market.helpers import json_server, orch_info, sleeper  # noqa: E402

ADDR = {k: bytes([i + 1]) * 20 for i, k in enumerate("ABCDE")}


def fake_query(table):
    """query(info) for get_orchestrators from {url: (delay_s, info or exception)}."""
    def query(li):
        delay, what = table[li.url]
        time.sleep(delay)
        if isinstance(what, Exception):
            raise what
        return what
    return query


def _tv6_pool(latency):
    table = {f"https://{k}": (latency[k], orch_info(ADDR[k], transcoder=f"https://{k}")) for k in "ABCD"}
    table["https://E"] = (0.01, RuntimeError("rpc error"))
    sus = Suspender()
    sus.signal_refresh()
    sus.suspend("https://C", 2)     # penalty 2 ... list = count + 2
    sus.suspend("https://D", 1)
    return [LocalInfo(u) for u in table], fake_query(table), sus


def test_tv6_ranking_with_suspension():
    infos, query, sus = _tv6_pool({"A": 0.12, "B": 0.04, "C": 0.08, "D": 0.03})
    got = get_orchestrators(infos, 4, query, suspender=sus, rng=random.Random(0))
    assert [d.info.transcoder for d in got] == ["https://B", "https://A", "https://D", "https://C"]
    assert [d.penalty for d in got][2:] == [2, 3]
    got = get_orchestrators(infos, 2, query, suspender=sus, rng=random.Random(0))
    assert [d.info.transcoder for d in got] == ["https://B", "https://A"]


def test_tv6_ticks_and_cutoff():
    # A at 0.1 s, B at 0.3 s, C at 0.7 s, D never (times scaled by 1/5: tick 0.1 s, cutoff 1.2 s)
    s = 0.2
    table = {"https://A": (0.1 * s, orch_info(ADDR["A"], transcoder="https://A")),
             "https://B": (0.3 * s, orch_info(ADDR["B"], transcoder="https://B")),
             "https://C": (0.7 * s, orch_info(ADDR["C"], transcoder="https://C")),
             "https://D": (3.0, orch_info(ADDR["D"], transcoder="https://D"))}
    infos = [LocalInfo(u) for u in table]
    t0 = time.monotonic()
    got = get_orchestrators(infos, 4, fake_query(table), discovery_timeout=0.5 * s, cutoff=6 * s)
    took = time.monotonic() - t0
    assert [d.info.transcoder for d in got] == ["https://A", "https://B"] and took < 0.7 * s
    # first success at 0.7 -> the 1.0 tick
    late = {"https://C": table["https://C"], "https://D": table["https://D"]}
    t0 = time.monotonic()
    got = get_orchestrators([LocalInfo(u) for u in late], 2, fake_query(late), discovery_timeout=0.5 * s,
                            cutoff=6 * s)
    took = time.monotonic() - t0
    assert [d.info.transcoder for d in got] == ["https://C"] and 0.95 * s <= took < 1.9 * s
    # only success at 5.5 -> the 6 s cutoff
    slow = {"https://S": (5.5 * s, orch_info(ADDR["A"], transcoder="https://S")), "https://D": (3.0, None)}
    t0 = time.monotonic()
    got = get_orchestrators([LocalInfo(u) for u in slow], 2, fake_query(slow), discovery_timeout=0.5 * s,
                            cutoff=6 * s)
    took = time.monotonic() - t0
    assert [d.url for d in got] == ["https://S"] and 5.9 * s <= took < 7.5 * s


def test_response_checks():
    job = JobCaps(bitstring=frozenset({0, 1}))
    table = {"https://ok": (0, orch_info(ADDR["A"])),
             "https://blocked": (0, orch_info(ADDR["B"])),
             "https://notranscoder": (0, orch_info(ADDR["C"], transcoder="")),
             "https://nocaps": (0, orch_info(ADDR["D"], caps_version=None)),
             "https://oldversion": (0, orch_info(ADDR["E"], caps_version="0.7.0"))}
    errors = []
    got = get_orchestrators([LocalInfo(u) for u in table], 5, fake_query(table),
                            blocklist="0x" + ADDR["B"].hex().upper(), job=JobCaps(job.bitstring, min_version="0.8.0"),
                            errors=errors)
    assert [d.url for d in got] == ["https://nocaps", "https://ok"] or [d.url for d in got] == ["https://ok",
                                                                                              "https://nocaps"]
    assert dict(errors) == {"https://blocked": "blocklisted", "https://notranscoder": "no transcoder",
                            "https://oldversion": "incompatible capabilities"}
    # nil capabilities: accepted only for a legacy-only job
    ai = JobCaps(bitstring=frozenset({27}))
    assert not is_compatible(ai, None) and is_compatible(JobCaps(bitstring=frozenset({2})), None)
    assert is_compatible(ai, orch_info(ADDR["A"], bitstring=(0, 0)).capabilities) is False
    assert is_compatible(ai, orch_info(ADDR["A"], bitstring=(1 << 27,)).capabilities)


def test_grpc_fan_out_against_fake_orchestrators():
    """Slow, failing, incompatible, blocklisted and suspended orchestrators over real gRPC on 127.0.0.1."""
    import grpc

    def failing(request, context):
        context.abort(grpc.StatusCode.UNAVAILABLE, "orchestrator is down")

    seen = []

    def honest(request, context):
        seen.append(request)
        return orch_info(ADDR["A"], transcoder="https://honest")

    with grpc_orchestrator(honest) as honest_url, \
            grpc_orchestrator(sleeper(0.5, orch_info(ADDR["B"], transcoder="https://slow"))) as slow_url, \
            grpc_orchestrator(failing) as fail_url, \
            grpc_orchestrator(sleeper(0, orch_info(ADDR["C"], transcoder="https://old", caps_version="0.1.0"))) \
            as old_url, \
            grpc_orchestrator(sleeper(0, orch_info(ADDR["D"], transcoder="https://blocked"))) as blocked_url, \
            grpc_orchestrator(sleeper(0, orch_info(ADDR["E"], transcoder="https://suspended"))) as sus_url:
        from lpcore import pm

        gateway = pm.Signer(bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"))
        job = JobCaps(bitstring=frozenset({0}), min_version="0.8.0")
        request = grpc_orchestrator_request(gateway, job)
        sus = Suspender()
        sus.signal_refresh()
        sus.suspend("https://suspended", 3)
        urls = [honest_url, slow_url, fail_url, old_url, blocked_url, sus_url]
        errors = []
        t0 = time.monotonic()
        got = get_orchestrators(StaticDiscovery(urls).infos(), 6, lambda li: grpc_query(li.url, request, timeout=2),
                                suspender=sus, job=job, blocklist=ADDR["D"].hex(), errors=errors,
                                discovery_timeout=0.1, cutoff=1.5)
        took = time.monotonic() - t0
        # the honest one returns first; at the first tick with a success, discovery returns without the slow one
        assert [d.info.transcoder for d in got][:1] == ["https://honest"]
        assert "https://slow" not in [d.info.transcoder for d in got] and took < 1.5
        assert [d.info.transcoder for d in got][-1] == "https://suspended" and got[-1].penalty == 4
        reasons = dict(errors)
        assert "UNAVAILABLE" in reasons[fail_url] and reasons[old_url] == "incompatible capabilities"
        assert reasons[blocked_url] == "blocklisted"
        assert got[0].latency is not None and got[0].latency < 1.5
        # the request carries the gateway's address and its signature over its own hex address
        assert seen and seen[0].address == gateway.address and len(seen[0].sig) == 65
        assert seen[0].capabilities.constraints.minVersion == "0.8.0"
        # the slow one is there when waited for
        got = get_orchestrators(StaticDiscovery([slow_url]).infos(), 1,
                                lambda li: grpc_query(li.url, request, timeout=2), job=job)
        assert got[0].info.transcoder == "https://slow" and got[0].latency >= 0.5
    with pytest.raises(DiscoveryError, match="connect"):
        grpc_query(honest_url, connect_timeout=0.3)
    with pytest.raises(DiscoveryError, match="http"):
        grpc_query("ftp://x")


def test_static_list_parsing():
    assert parse_orch_addrs("") == ["https://127.0.0.1:8935"]
    assert parse_orch_addrs(" :9000 , o.example , http://h:1 ,https://x:2") == [
        "https://127.0.0.1:9000", "https://o.example:8935", "http://h:1", "https://x:2"]
    assert parse_orch_addrs(["bad host:1"]) == []
    assert [i.score for i in StaticDiscovery("a:1,b:2").infos()] == [1.0, 1.0]
    assert parse_blocklist("0xAB, cd ,") == {"ab", "cd"}


def test_webhook_discovery_refresh_and_errors():
    state = {"status": 200, "body": [{"address": "https://o1:8935", "score": 1.0},
                                     {"address": "https://o2:8935", "score": 0.5}, {"address": ""},
                                     {"address": "not a url"}, {"score": 1}, "junk"]}
    now = [0.0]
    with json_server({"/orchs": lambda q: (state["status"], state["body"])}) as (base, seen):
        wh = WebhookDiscovery(base + "/orchs", headers={"X-Test": "1"}, clock=lambda: now[0], timeout=2)
        assert [(i.url, i.score) for i in wh.infos()] == [("https://o1:8935", 1.0), ("https://o2:8935", 0.5)]
        assert seen[-1][2].get("X-Test") == "1"
        now[0] = 30.0
        wh.infos()
        assert len(seen) == 1                                 # within a minute: the cache
        now[0] = 61.0
        state["status"] = 500
        assert len(wh.infos()) == 2 and len(seen) == 2        # error: the cached pool
        now[0] = 122.0
        state["status"], state["body"] = 200, []
        assert wh.infos() == [] and len(seen) == 3            # an empty array clears the pool
        state["body"] = b"{not json"
        fresh = WebhookDiscovery(base + "/orchs", timeout=2)
        with pytest.raises(DiscoveryError, match="not JSON"):
            fresh.infos()                                     # no cache: the error
        state["body"] = b"x" * (4 * 1024 * 1024 + 10)
        with pytest.raises(DiscoveryError, match="exceeds"):
            WebhookDiscovery(base + "/orchs", timeout=5).infos()
    # blocklist: go-livepeer does not apply it to webhook pools (QUIRK); lpcore does unless go_compat
    assert WebhookDiscovery("http://x", blocklist="ab" * 20).blocked(bytes([0xab]) * 20)
    assert not WebhookDiscovery("http://x", blocklist="ab" * 20, go_compat=True).blocked(bytes([0xab]) * 20)
    with pytest.raises(DiscoveryError, match="failed"):
        WebhookDiscovery("http://127.0.0.1:9/", timeout=1).infos()


def test_signer_discovery():
    answer = [{"address": "https://o1:8935", "score": 1.0, "capabilities": ["live-video-to-video/m1"]},
              {"address": "https://o2:8935", "score": 1.0, "capabilities": ["llm/x", 5]}]
    state = {"status": 200}
    with json_server({"/discover-orchestrators": lambda q: (state["status"], answer if state["status"] == 200
                                                             else b"cache empty")}) as (base, seen):
        d = SignerDiscovery(base + "/", caps=["live-video-to-video/m1", "llm/x"], timeout=2)
        infos = d.infos()
        assert [i.url for i in infos] == ["https://o1:8935", "https://o2:8935"]
        assert infos[1].capabilities == ("llm/x",)
        assert seen[-1][1] == "caps=live-video-to-video%2Fm1&caps=llm%2Fx"
        state["status"] = 503
        assert d.infos() == []
        state["status"] = 401
        with pytest.raises(DiscoveryError, match="401"):
            d.infos()


def test_on_chain_discovery_source():
    from lpcore.market.discovery import OnChainDiscovery

    pool = [("0x" + "01" * 20, "o1.example:8935", 10**23), ("0x" + "02" * 20, "https://o2.example", 5),
            ("0x" + "03" * 20, "bad uri with spaces", 1)]
    infos = OnChainDiscovery(lambda: pool).infos()
    assert [(i.url, i.score, i.stake) for i in infos] == [("https://o1.example:8935", 0.0, 10**23),
                                                         ("https://o2.example", 0.0, 5)]


def test_on_chain_discovery_through_web3():
    """The pool walk over web3 against a stand-in BondingManager/ServiceRegistry on eth-tester (py-evm)."""
    vyper = pytest.importorskip("vyper")
    web3 = pytest.importorskip("web3")
    pytest.importorskip("eth_tester")
    from lpcore.market.discovery import OnChainDiscovery

    source = """# pragma version ~=0.4.3
first: address
last: address
nxt: HashMap[address, address]
stake: HashMap[address, uint256]
uri: HashMap[address, String[256]]

@external
def add(a: address, s: uint256, u: String[256]):
    if self.first == empty(address):
        self.first = a
    else:
        self.nxt[self.last] = a
    self.last = a
    self.stake[a] = s
    self.uri[a] = u

@view
@external
def getFirstTranscoderInPool() -> address:
    return self.first

@view
@external
def getNextTranscoderInPool(a: address) -> address:
    return self.nxt[a]

@view
@external
def transcoderTotalStake(a: address) -> uint256:
    return self.stake[a]

@view
@external
def getServiceURI(a: address) -> String[256]:
    return self.uri[a]
"""
    out = vyper.compile_code(source, output_formats=["abi", "bytecode"])
    w3 = web3.Web3(web3.EthereumTesterProvider())
    acct = w3.eth.accounts[0]
    tx = w3.eth.contract(abi=out["abi"], bytecode=out["bytecode"]).constructor().transact({"from": acct})
    addr = w3.eth.wait_for_transaction_receipt(tx).contractAddress
    c = w3.eth.contract(address=addr, abi=out["abi"])
    empty = OnChainDiscovery.from_web3(w3, addr, addr)
    assert empty.infos() == []
    orchs = [(web3.Web3.to_checksum_address("0x" + f"{i:02x}" * 20), 10**18 * i, f"o{i}.example:8935")
             for i in (1, 2, 3)]
    for a, s, u in orchs:
        c.functions.add(a, s, u).transact({"from": acct})
    infos = OnChainDiscovery.from_web3(w3, addr, addr).infos()
    assert [(i.address, i.url, i.stake, i.score) for i in infos] == [
        (a, f"https://{u}", s, 0.0) for a, s, u in orchs]
