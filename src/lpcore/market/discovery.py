"""Orchestrator discovery: where candidate orchestrators come from, and go-livepeer's GetOrchestratorInfo fan-out.

Sources, all behind one interface (:class:`Discovery`: ``infos() -> list[LocalInfo]``):

- :class:`StaticDiscovery`: an ``-orchAddr`` list, parsed as go-livepeer's ``parseOrchAddrs`` does; score 1.0
  (trusted); the blocklist applies.
- :class:`WebhookDiscovery`: ``GET <url>`` answering ``[{"address", "score"}]``; refetched at most once a
  minute; an unchanged body (keccak-256) keeps the pool; a failed fetch keeps the cached pool (an error only
  when there is none); an empty array clears it. QUIRK kept: go-livepeer does not apply ``-orchBlocklist`` to
  webhook-discovered orchestrators; lpcore does unless ``go_compat=True``.
- :class:`SignerDiscovery`: a remote signer's ``GET /discover-orchestrators[?caps=pipeline/model]``.
- :class:`OnChainDiscovery`: the active transcoder pool (service URI and stake) read through a chain connection.

:func:`get_orchestrators` queries every candidate concurrently and returns as go-livepeer's
``orchestratorPool.GetOrchestrators`` does: early at the first tick (0.5, 1, 2, 4 s) that finds a non-suspended
success, or at the 6 s cutoff; non-suspended successes sorted by latency, then suspended ones (lowest penalty
first) to fill a shortfall. :func:`grpc_query` is the gRPC ``GetOrchestrator`` call over the project's protobuf
messages; grpcio and protobuf load only when it is used (``pip install 'lpcore[market]'``).

HTTP answers (webhook, signer) are read through ``urllib`` with a size cap (``MAX_DISCOVERY_BYTES``) and a
timeout, so a hostile endpoint can neither exhaust memory nor hang discovery.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import DiscoveryError
from ..keccak import keccak256
from .selection import is_version_compatible

__all__ = [
    "LocalInfo", "Discovered", "Discovery", "StaticDiscovery", "WebhookDiscovery", "SignerDiscovery",
    "OnChainDiscovery", "parse_orch_addrs", "parse_blocklist", "get_orchestrators", "grpc_query", "JobCaps",
    "is_compatible", "SCORE_TRUSTED", "SCORE_UNTRUSTED", "MAX_DISCOVERY_BYTES", "GRPC_CONNECT_TIMEOUT_S",
]

SCORE_TRUSTED = 1.0
SCORE_UNTRUSTED = 0.0
#: Largest webhook / signer discovery answer read (go-livepeer reads without a cap; 4 MiB is ~40 000 entries).
MAX_DISCOVERY_BYTES = 4 * 1024 * 1024
#: Most orchestrators one discovery answer may list.
MAX_DISCOVERY_ENTRIES = 10_000
#: go-livepeer ``GRPCConnectTimeout``.
GRPC_CONNECT_TIMEOUT_S = 3.0
#: go-livepeer ``-discoveryTimeout`` default and ``maxGetOrchestratorCutoffTimeout``.
DISCOVERY_TIMEOUT_S = 0.5
CUTOFF_S = 6.0
#: go-livepeer ``common.WebhookDiscoveryRefreshInterval``.
WEBHOOK_REFRESH_S = 60.0
#: Most concurrent GetOrchestrator queries (go-livepeer has no cap; a bound keeps thread use sane).
MAX_CONCURRENT_QUERIES = 64
_LEGACY_BITS = 12  # capabilities 0..11 (H264 ... GOP) are the legacy transcoding set


@dataclass(frozen=True)
class LocalInfo:
    """A discovered orchestrator before it is queried: service ``url`` and discovery ``score``."""

    url: str
    score: float = SCORE_TRUSTED
    address: str | None = None        # known from the chain or a signer; None when only the URL is known
    stake: int = 0
    capabilities: tuple[str, ...] = ()


class Discovery(Protocol):
    def infos(self) -> list[LocalInfo]: ...


# --- address lists ------------------------------------------------------------------------------------------

def _valid_request_uri(url: str) -> bool:
    """Close to Go's ``url.ParseRequestURI``: an absolute URL with a scheme and a host, no spaces."""
    if not url or any(c.isspace() for c in url) or len(url) > 2048:
        return False
    try:
        p = urllib.parse.urlsplit(url)
    except ValueError:
        return False
    return bool(p.scheme) and bool(p.netloc) and p.scheme.isascii()


def parse_orch_addrs(text: str | Iterable[str]) -> list[str]:
    """go-livepeer ``parseOrchAddrs``: split on ``,``, trim; empty -> ``127.0.0.1:8935``, ``:port`` ->
    ``127.0.0.1:port``, no ``:`` -> ``host:8935``; ``https://`` prefixed unless it starts with ``http``; items
    that are not a valid request URI are dropped."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out = []
    for raw in items:
        addr = raw.strip()
        if not addr:
            addr = "127.0.0.1:8935"
        elif addr.startswith(":"):
            addr = "127.0.0.1" + addr
        elif ":" not in addr:
            addr = addr + ":8935"
        if not addr.startswith("http"):
            addr = "https://" + addr
        if _valid_request_uri(addr):
            out.append(addr)
    return out


def parse_blocklist(text: str | Iterable[str] | None) -> set[str]:
    """``-orchBlocklist``: ETH addresses, lower-cased, ``0x`` optional."""
    if text is None:
        return set()
    items = text.split(",") if isinstance(text, str) else list(text)
    return {i.strip().lower().removeprefix("0x") for i in items if i.strip()}


def _blocked(address: bytes | str | None, blocklist: set[str]) -> bool:
    if not blocklist or address is None:
        return False
    hexa = address.hex() if isinstance(address, (bytes, bytearray)) else str(address).lower().removeprefix("0x")
    return hexa.lower() in blocklist


class StaticDiscovery:
    """``-orchAddr``: every URL trusted (score 1.0)."""

    def __init__(self, addrs: str | Iterable[str], *, score: float = SCORE_TRUSTED):
        self._infos = [LocalInfo(u, score) for u in parse_orch_addrs(addrs)]

    def infos(self) -> list[LocalInfo]:
        return list(self._infos)


def _http_get_json(url: str, headers: Mapping[str, str] | None, timeout: float) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers=dict(headers or {}), method="GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) URL from config
            body = resp.read(MAX_DISCOVERY_BYTES + 1)
            status = resp.status
    except urllib.error.HTTPError as e:
        return e.code, e.read(4096) if e.fp is not None else b""
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise DiscoveryError(f"discovery request to {url} failed: {getattr(e, 'reason', e)}") from e
    if len(body) > MAX_DISCOVERY_BYTES:
        raise DiscoveryError(f"discovery answer from {url} exceeds {MAX_DISCOVERY_BYTES} bytes")
    return status, body


def _parse_entries(body: bytes, source: str) -> list[dict]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise DiscoveryError(f"{source}: answer is not JSON ({e})") from e
    if not isinstance(data, list):
        raise DiscoveryError(f"{source}: expected a JSON array of orchestrators")
    if len(data) > MAX_DISCOVERY_ENTRIES:
        raise DiscoveryError(f"{source}: more than {MAX_DISCOVERY_ENTRIES} orchestrators")
    return [e for e in data if isinstance(e, dict)]


def _score(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0.0
    return float(value)


class WebhookDiscovery:
    """``-orchWebhookUrl`` (go-livepeer ``webhookPool``): refetched lazily, at most every ``refresh_s``."""

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 3.0,
                 refresh_s: float = WEBHOOK_REFRESH_S, blocklist: str | Iterable[str] | None = None,
                 go_compat: bool = False, clock: Callable[[], float] = time.monotonic):
        self.url = url
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.refresh_s = refresh_s
        self.blocklist = parse_blocklist(blocklist)
        self.go_compat = go_compat
        self.clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self._hash: bytes | None = None
        self._pool: list[LocalInfo] | None = None
        self.fetches = 0

    def infos(self) -> list[LocalInfo]:
        with self._lock:
            now = self.clock()
            if self._pool is not None and self._last is not None and now - self._last < self.refresh_s:
                return list(self._pool)
            try:
                self.fetches += 1
                status, body = _http_get_json(self.url, self.headers, self.timeout)
                if not 200 <= status <= 299:
                    raise DiscoveryError(f"webhook {self.url} answered HTTP {status}")
                digest = keccak256(body)
                if digest != self._hash or self._pool is None:
                    self._pool = self._parse(body)
                    self._hash = digest
                self._last = now
            except DiscoveryError:
                if self._pool is None:
                    raise
                self._last = now  # cachedInfosOnError: keep serving the cache
            return list(self._pool)

    def _parse(self, body: bytes) -> list[LocalInfo]:
        out = []
        for e in _parse_entries(body, f"webhook {self.url}"):
            addr = e.get("address")
            if not isinstance(addr, str) or not addr or not _valid_request_uri(addr):
                continue
            out.append(LocalInfo(addr, _score(e.get("score", 0.0))))
        return out

    def blocked(self, address: bytes | str | None) -> bool:
        """The blocklist applied to an orchestrator this webhook listed (never, with ``go_compat``)."""
        return not self.go_compat and _blocked(address, self.blocklist)


class SignerDiscovery:
    """A remote signer's ``GET /discover-orchestrators``: ``caps`` are ``"pipeline/model"`` strings."""

    def __init__(self, signer_url: str, *, caps: Sequence[str] = (), headers: Mapping[str, str] | None = None,
                 timeout: float = 5.0):
        self.url = signer_url.rstrip("/") + "/discover-orchestrators"
        if caps:
            self.url += "?" + urllib.parse.urlencode([("caps", c) for c in caps])
        self.headers = dict(headers or {})
        self.timeout = timeout

    def infos(self) -> list[LocalInfo]:
        status, body = _http_get_json(self.url, self.headers, self.timeout)
        if status == 503:
            return []           # "cache empty": nothing discovered yet
        if not 200 <= status <= 299:
            raise DiscoveryError(f"signer discovery {self.url} answered HTTP {status}")
        out = []
        for e in _parse_entries(body, f"signer discovery {self.url}"):
            addr = e.get("address")
            if not isinstance(addr, str) or not _valid_request_uri(addr):
                continue
            caps = e.get("capabilities")
            caps = tuple(c for c in caps if isinstance(c, str)) if isinstance(caps, list) else ()
            out.append(LocalInfo(addr, _score(e.get("score", SCORE_TRUSTED)), capabilities=caps))
        return out


#: The BondingManager / ServiceRegistry functions on-chain discovery reads (their public interface).
class OnChainDiscovery:
    """The on-chain active set: ``pool()`` returns ``(eth_address, service_uri, stake)`` for each active
    transcoder (BondingManager's pool walk plus ServiceRegistry ``getServiceURI``); :meth:`from_web3` builds it
    on a web3 connection. Every on-chain orchestrator is untrusted (score 0); URIs get ``https://``."""

    def __init__(self, pool: Callable[[], Iterable[tuple[str, str, int]]]):
        self._pool = pool

    @classmethod
    def from_web3(cls, w3: Any, bonding_manager: str, service_registry: str) -> OnChainDiscovery:
        """On a web3.py connection or JSON-RPC URL and given contract addresses: the pool walk of
        :func:`lpcore.broker.rpc.transcoder_pool` (at most ``MAX_POOL_WALK`` transcoders)."""
        from ..broker.rpc import transcoder_pool

        return cls(lambda: transcoder_pool(w3, bonding_manager, service_registry))

    @classmethod
    def from_chain(cls, view: Any) -> OnChainDiscovery:
        """On a :class:`lpcore.broker.ChainView` (contracts resolved through its Controller)."""
        return cls(view.transcoder_pool)

    def infos(self) -> list[LocalInfo]:
        out = []
        for address, uri, stake in self._pool():
            uri = uri if uri.startswith("http") else "https://" + uri
            if _valid_request_uri(uri):
                out.append(LocalInfo(uri, SCORE_UNTRUSTED, address=address, stake=int(stake)))
        return out


# --- capabilities -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class JobCaps:
    """A job's capability requirements (go-livepeer ``Capabilities`` on the gateway side).

    ``bitstring``: capability ids the job needs; ``per_capability``: ``{cap: {model: (warm, min_runner_version)}}``;
    ``min_version``: ``-orchMinLivepeerVersion``."""

    bitstring: frozenset[int] = frozenset()
    per_capability: Mapping[int, Mapping[str, tuple[bool, str]]] = field(default_factory=dict)
    min_version: str = ""

    def legacy_only(self) -> bool:
        return all(0 <= b < _LEGACY_BITS for b in self.bitstring)


def _bits(words: Iterable[int]) -> set[int]:
    out = set()
    for i, w in enumerate(words):
        for b in range(64):
            if (int(w) >> b) & 1:
                out.add(64 * i + b)
    return out


def is_compatible(job: JobCaps, orch_caps: Any) -> bool:
    """go-livepeer ``isCompatible`` for an ``OrchestratorInfo.capabilities`` (a ``net.Capabilities`` or None):
    no capabilities is compatible only with a legacy-only job; else version, mandatories, per-capability
    models (present, warm if required, runner version) and the bitstring."""
    if orch_caps is None:
        return job.legacy_only()
    if not is_version_compatible(job.min_version, orch_caps.version):
        return False
    if not _bits(orch_caps.mandatories) <= set(job.bitstring):
        return False
    per = orch_caps.constraints.PerCapability if orch_caps.HasField("constraints") else {}
    for cap, models in job.per_capability.items():
        if cap not in per:
            continue
        o_models = per[cap].models
        for model, (warm, min_runner) in models.items():
            if model not in o_models:
                return False
            if warm and not o_models[model].warm:
                return False
            if not is_version_compatible(min_runner, o_models[model].runnerVersion):
                return False
    return set(job.bitstring) <= _bits(orch_caps.bitstring)


# --- the fan-out --------------------------------------------------------------------------------------------

@dataclass
class Discovered:
    """A successful GetOrchestratorInfo answer: the query's ``url`` and ``score``, the ``info`` message, the
    measured ``latency`` (s) and the suspension ``penalty`` (0 = not suspended)."""

    url: str
    info: Any
    latency: float | None
    score: float
    penalty: int = 0


def get_orchestrators(infos: Sequence[LocalInfo], num: int, query: Callable[[LocalInfo], Any], *,
                      suspender: Any = None, job: JobCaps | None = None,
                      pred: Callable[[Any], bool] | None = None, blocklist: str | Iterable[str] | None = None,
                      score_pred: Callable[[float], bool] | None = None,
                      discovery_timeout: float = DISCOVERY_TIMEOUT_S, cutoff: float = CUTOFF_S,
                      rng: Any = None, errors: list | None = None) -> list[Discovered]:
    """go-livepeer ``orchestratorPool.GetOrchestrators``: queries every candidate (``query(info) ->
    OrchestratorInfo``, raising on failure) concurrently in random order and returns up to ``num`` answers.

    A response counts as an error when the query raised, the address is blocklisted, ``pred`` refuses it, its
    capabilities are incompatible with ``job`` or it names no transcoder. ``errors`` (a list) collects
    ``(url, reason)``. ``discovery_timeout``/``cutoff`` scale the 0.5 s first tick and 6 s cutoff."""
    import random

    linfos = [i for i in infos if score_pred is None or score_pred(i.score)]
    num = min(len(linfos), int(num))
    blocked = parse_blocklist(blocklist)
    job = job or JobCaps()
    if num <= 0 or not linfos:
        return []
    order = list(range(len(linfos)))
    (rng or random).shuffle(order)
    results: queue.Queue = queue.Queue()
    pool = ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT_QUERIES, len(linfos)),
                              thread_name_prefix="lpcore-discovery")
    start = time.monotonic()

    def one(li: LocalInfo) -> None:
        t0 = time.monotonic()
        try:
            info = query(li)
        except Exception as e:  # noqa: BLE001 - any failure of a remote orchestrator is its error
            results.put((li, None, None, f"{type(e).__name__}: {e}"))
            return
        results.put((li, info, time.monotonic() - t0, None))

    for i in order:
        pool.submit(one, linfos[i])
    ods: list[Discovered] = []
    suspended: list[tuple[int, int, Discovered]] = []
    tick = itertools.count()
    n_resp = 0
    timeout = discovery_timeout
    next_tick = start + timeout
    deadline = start + cutoff
    timed_out = False
    try:
        while n_resp < len(linfos) and len(ods) < num and not timed_out:
            now = time.monotonic()
            wait = min(next_tick, deadline) - now
            try:
                li, info, latency, err = results.get(timeout=max(0.0, wait)) if wait > 0 else results.get_nowait()
            except queue.Empty:
                now = time.monotonic()
                if now >= deadline:
                    timed_out = True
                elif now >= next_tick:
                    if ods:
                        timed_out = True
                    else:
                        next_tick = now + timeout
                        timeout = min(2 * timeout, cutoff)
                continue
            n_resp += 1
            if err is None:
                err = _reject(info, blocked, pred, job)
            if err is not None:
                if errors is not None:
                    errors.append((li.url, err))
                continue
            penalty = int(suspender.suspended(info.transcoder)) if suspender is not None else 0
            d = Discovered(li.url, info, latency, li.score, penalty)
            if penalty == 0:
                ods.append(d)
            else:
                heapq.heappush(suspended, (penalty, next(tick), d))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    ods.sort(key=lambda d: (d.latency is None, d.latency or 0.0))
    while len(ods) < num and suspended:
        ods.append(heapq.heappop(suspended)[2])
    return ods


def _reject(info: Any, blocked: set[str], pred: Callable[[Any], bool] | None, job: JobCaps) -> str | None:
    if info is None:
        return "no answer"
    if _blocked(bytes(info.address) if info.address else None, blocked):
        return "blocklisted"
    if pred is not None and not pred(info):
        return "refused by the pool predicate"
    caps = info.capabilities if info.HasField("capabilities") else None
    if not is_compatible(job, caps):
        return "incompatible capabilities"
    if not info.transcoder:
        return "no transcoder"
    return None


# --- gRPC -----------------------------------------------------------------------------------------------------

_METHOD = "/net.Orchestrator/GetOrchestrator"


def grpc_query(url: str, request: Any = None, *, timeout: float = CUTOFF_S,
               connect_timeout: float = GRPC_CONNECT_TIMEOUT_S) -> Any:
    """One ``GetOrchestrator`` RPC to the orchestrator at ``url`` (``http://`` = plaintext; ``https://`` = TLS
    trusting the certificate the server presents, as go-livepeer's ``InsecureSkipVerify`` and the SDK's
    trust-on-first-use do). Returns the ``net.OrchestratorInfo``; raises :class:`DiscoveryError`."""
    from .._extras import require

    (grpc, _) = require("market", "grpc", "google.protobuf", feature="gRPC discovery")
    from ..signer import proto
    p = urllib.parse.urlsplit(url)
    if p.scheme not in ("http", "https") or not p.hostname:
        raise DiscoveryError(f"orchestrator URL must be http(s)://host:port, got {url!r}")
    target = f"{p.hostname}:{p.port or 8935}"
    if p.scheme == "http":
        channel = grpc.insecure_channel(target)
    else:
        import ssl

        try:
            pem = ssl.get_server_certificate((p.hostname, p.port or 8935), timeout=connect_timeout)
        except (OSError, ssl.SSLError) as e:
            raise DiscoveryError(f"cannot reach {url}: {e}") from e
        creds = grpc.ssl_channel_credentials(root_certificates=pem.encode())
        channel = grpc.secure_channel(target, creds, options=[("grpc.ssl_target_name_override", p.hostname)])
    try:
        try:
            grpc.channel_ready_future(channel).result(timeout=connect_timeout)
        except grpc.FutureTimeoutError as e:
            raise DiscoveryError(f"cannot connect to {url} within {connect_timeout} s") from e
        call = channel.unary_unary(_METHOD, request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=lambda b: proto.parse(proto.OrchestratorInfo, b))
        try:
            return call(request if request is not None else proto.OrchestratorRequest(), timeout=timeout)
        except grpc.RpcError as e:
            raise DiscoveryError(f"GetOrchestrator {url}: {e.code().name} {e.details()}") from e
    finally:
        channel.close()


def grpc_orchestrator_request(signer: Any, job: JobCaps | None = None, ignore_capacity_check: bool = False) -> Any:
    """go-livepeer's ``OrchestratorRequest``: the gateway's address, its signature over its own hex address,
    the job's capabilities. ``signer``: a :class:`lpcore.pm.Signer`."""
    from ..signer import proto

    addr = signer.address
    req = proto.OrchestratorRequest(address=addr, sig=signer.sign_message(("0x" + addr.hex()).encode()),
                                    ignoreCapacityCheck=ignore_capacity_check)
    if job is not None:
        words = [0] * ((max(job.bitstring) // 64 + 1) if job.bitstring else 0)
        for b in job.bitstring:
            words[b // 64] |= 1 << (b % 64)
        req.capabilities.bitstring.extend(words)
        if job.min_version:
            req.capabilities.constraints.minVersion = job.min_version
    return req
