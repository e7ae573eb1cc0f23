"""Verification batches: many (reference, candidate) pairs, in-process or on a Ray cluster, into a durable sink.

Each pair gives one result row (keys :data:`lpcore.verify.sinks.FIELDS`): ``match_code`` is the MPEG-7
signature match (0 none, 1 partial, 2 whole) under the Verifier's preset, ``tampered``/``score`` come from
``lpcore.verify.detect.detect_tampering`` when that module is installed (the keys are left out otherwise, never
guessed); each input is then decoded once, into its verification profile (:mod:`lpcore.vsig.profile`), which
holds the signature the match reads and the block statistics the detector compares. ``frames`` is the
candidate's frame count, ``seconds`` the time spent on the pair where it ran, and ``error`` a message when an
input is missing, corrupt or undecodable (the batch goes on; the other fields are then null).
:func:`verify_pair` computes one row; it is the only per-pair code path, whichever executor runs it.

Executors:

- ``"local"`` (default): a thread pool in this process. Decoding (PyAV) and the signature and match loops (C,
  GIL released) run in parallel threads, so there is no process or cluster start-up: the right choice for small
  batches and one machine.
- ``"ray"``: starts a local Ray instance (``address=None``) or joins one (``"auto"``, ``"ray://host:10001"``,
  ``"host:6379"``). Tasks take the pair's paths/URLs or bytes and decode them on the worker, so only the inputs'
  names (or the bytes) and the row travel. When the cluster has GPUs (and ``device`` allows) one long-lived
  actor per GPU holds CuPy, the CUDA context and the compiled kernels across pairs; otherwise CPU tasks. At most
  ``window`` pairs are in flight (backpressure: pairs are read from ``pairs`` only as slots free up). A task whose
  worker died is retried by Ray (``max_retries``), and once more by the driver if Ray gives up; a pair that keeps
  killing its worker ends as an error row. The driver accounts for every pair: each is submitted once at a
  time, gives exactly one row, and a second row for a pair is dropped.

Rows go to the sink (``out``, :mod:`lpcore.verify.sinks`) as they arrive; with ``resume=True`` pairs already in
the output are skipped without being computed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import logging
import math
import os
import re
import stat
import sys
import tempfile
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from ..errors import BatchError, DeviceUnavailable, LpcoreError, VideoDecodeError
from .policy import Verifier, verify_segment
from .sinks import Sink, open_sink, row_key

__all__ = ["DEFAULT_PRESET", "Plan", "plan_ray", "verify_pair", "iter_batch", "run_batch",
           "label", "tamper_detector"]

#: The matching preset of a row's ``match_code``: the Verifier's own default, so a batch judges like the policy.
DEFAULT_PRESET: str = inspect.signature(Verifier).parameters["preset"].default
DETECT_MODULE = "lpcore.verify.detect"
EXECUTORS = ("local", "ray")
DEVICES = ("auto", "cpu", "cuda")
#: Ray's own retries of a task (or actor call) whose worker process died.
RAY_MAX_RETRIES = 2
#: Driver-side resubmissions once Ray has given up on a pair (worker, actor or node gone, object lost).
RESUBMITS = 1
#: Default pairs in flight per Ray slot: enough queued on each worker that it never waits for the driver's
#: round trip (measured: a no-op pair costs ~1.3 ms at 16 in flight on 2 CPUs, ~2 ms at 4), small enough to
#: bound the memory of bytes inputs.
RAY_WINDOW_PER_SLOT = 4
#: Distinct bytes inputs a Ray batch keeps in the object store for reuse by later pairs.
SHIP_CACHE = 32
#: How long the Ray executor waits for its first task (lpcore importable on the workers) before giving up.
PROBE_TIMEOUT_S = 300.0

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
Key = tuple[str, str]
Task = Callable[..., dict]


# ----------------------------------------------------------------------------------------------- one pair

def label(x: Any) -> str:
    """How a row names an input: the path or URL as given; bytes by their SHA-256 (``sha256:<hex>``)."""
    if isinstance(x, (bytes, bytearray, memoryview)):
        return "sha256:" + hashlib.sha256(x).hexdigest()
    name = os.fspath(x)
    return name if isinstance(name, str) else os.fsdecode(name)


def tamper_detector() -> Callable | None:
    """``lpcore.verify.detect.detect_tampering`` if that module is installed, else None (rows then carry no
    ``tampered``/``score``). A module that exists but fails to import is an error, not an absence."""
    try:
        module = importlib.import_module(DETECT_MODULE)
    except ModuleNotFoundError as e:
        if e.name == DETECT_MODULE:
            return None
        raise BatchError(f"{DETECT_MODULE} is installed but cannot be imported: {e}") from None
    return getattr(module, "detect_tampering", None)


@contextlib.contextmanager
def _as_local(x: Any) -> Iterator[str]:
    """A path (or URL) the decoders can open: bytes are written to a private temporary file for the pair."""
    if not isinstance(x, (bytes, bytearray, memoryview)):
        yield label(x)
        return
    fd, path = tempfile.mkstemp(prefix="lpcore-verify-", suffix=".media")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(x)
        yield path
    finally:
        os.unlink(path)


class _DecodeCache:
    """The last few signatures or profiles this process computed, by kind and local file identity (path, size,
    mtime, inode) or by content (bytes, via their SHA-256): a manifest usually checks one reference against
    several candidates (one per orchestrator), and its signature/profile is the same each time (CPU and GPU give
    identical ones). URLs are not cached (their content may change). Bounded by entries and by frames held (a
    profile keeps 2,560 bytes per frame beside its signature: 16 384 frames are about 45 MB). Thread-safe."""

    def __init__(self, size: int = 64, frames: int = 16_384):
        self.size, self.frames = size, frames
        self.entries: OrderedDict = OrderedDict()
        self.held = 0
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.entries.get(key)
            if value is not None:
                self.entries.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
            if key in self.entries:
                self.held -= len(self.entries.pop(key))
            self.entries[key] = value
            self.held += len(value)
            while len(self.entries) > 1 and (len(self.entries) > self.size or self.held > self.frames):
                self.held -= len(self.entries.popitem(last=False)[1])


_DECODED = _DecodeCache()


def _decoded(path: str, side: str, device: str, threads: int | None, content: str | None = None, *,
             profile: bool = False):
    """One decode of one input: its :class:`~lpcore.vsig.VideoProfile` when ``profile`` (it holds the MPEG-7
    signature too, computed from the same luma in the same pass), else its signature. ``side`` names the input
    in errors; ``content``: the SHA-256 label of bytes inputs (then ``path`` is their temporary file)."""
    from .. import vsig  # looked up per call: tests count the decodes

    key = None
    if content is not None:
        key = content
    elif not _URL.match(path):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise VideoDecodeError(f"{side}: no such file {path!r}") from None
        except OSError as e:
            raise VideoDecodeError(f"{side}: cannot read {path!r}: {e.strerror or e}") from None
        if stat.S_ISDIR(st.st_mode):
            raise VideoDecodeError(f"{side}: {path!r} is a directory, not a video")
        key = (os.path.abspath(path), st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)
    if key is not None:
        key = ("profile" if profile else "signature", key)
    value = _DECODED.get(key) if key is not None else None
    if value is None:
        compute = vsig.compute_profile_file if profile else vsig.compute_file
        try:
            value = compute(path, device=device, threads=threads)
        except (VideoDecodeError, ValueError) as e:  # ValueError: frames below the signature's 32x32 minimum
            raise VideoDecodeError(f"{side}: {e}") from None
        if key is not None:
            _DECODED.put(key, value)
    return value


def _content(x: Any) -> str | None:
    return label(x) if isinstance(x, (bytes, bytearray, memoryview)) else None


def _describe(e: BaseException) -> str:
    if isinstance(e, (LpcoreError, ValueError, TypeError)):
        return str(e)
    if isinstance(e, OSError):
        return f"{e.strerror or e}" + (f": {e.filename!r}" if e.filename else "")
    return f"unexpected {type(e).__name__}: {e}"


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None           # JSON has no NaN/inf


def make_row(reference: str, candidate: str, *, tamper: bool, match_code: int | None = None,
             tampered: bool | None = None, score: float | None = None, frames: int | None = None,
             seconds: float | None = None, error: str | None = None) -> dict:
    """A result row with exactly the row fields, in order (``tampered``/``score`` only when ``tamper``)."""
    row = {"reference": reference, "candidate": candidate, "match_code": match_code, "tampered": tampered,
           "score": score, "frames": frames, "seconds": seconds, "error": error}
    if not tamper:
        del row["tampered"], row["score"]
    return row


def verify_pair(reference: Any, candidate: Any, *, device: str = "auto", preset: str = DEFAULT_PRESET,
                threads: int | None = None, tamper: bool | None = None) -> dict:
    """One row for inputs given as paths, URLs or encoded bytes. Each input is decoded once: with tamper
    detection (``tamper``; None: when ``lpcore.verify.detect`` is installed) into its verification profile,
    whose MPEG-7 signature gives ``match_code`` (``preset``) and which ``detect_tampering`` compares for
    ``tampered``/``score``; without it into its signature alone. Never raises for a bad input: the row's
    ``error`` says what went wrong (prefixed with the side, ``reference:``/``candidate:``)."""
    start = time.perf_counter()
    detect = tamper_detector() if tamper is not False else None
    use_tamper = detect is not None if tamper is None else bool(tamper)
    fields: dict[str, Any] = {}
    try:
        if use_tamper and detect is None:
            raise BatchError(f"tamper detection was asked for but {DETECT_MODULE} is not installed here")
        with _as_local(reference) as ref, _as_local(candidate) as cand:
            ref_x = _decoded(ref, "reference", device, threads, _content(reference), profile=use_tamper)
            cand_x = _decoded(cand, "candidate", device, threads, _content(candidate), profile=use_tamper)
        ref_sig, cand_sig = (x.signature for x in (ref_x, cand_x)) if use_tamper else (ref_x, cand_x)
        fields["frames"] = len(cand_sig)
        fields["match_code"] = int(verify_segment(ref_sig, cand_sig, preset=preset).code)
        if use_tamper:
            report = detect(ref_x, cand_x)           # profiles: no second decode
            fields["tampered"] = bool(report.tampered)
            fields["score"] = _finite(float(report.score))
    except Exception as e:  # noqa: BLE001 -- any failure of one pair is that pair's error row; the batch goes on
        fields = {"error": _describe(e)}
    return make_row(label(reference), label(candidate), tamper=use_tamper,
                    seconds=round(time.perf_counter() - start, 6), **fields)


# ------------------------------------------------------------------------------------------------ pairs

def _as_pair(item: Any) -> tuple[Any, Any]:
    if isinstance(item, Mapping):
        item = (item.get("reference"), item.get("candidate"))
    if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 2:
        raise TypeError(f"each pair must be (reference, candidate) or a mapping with those keys, got {item!r:.80}")
    for x in item:
        if not isinstance(x, (str, os.PathLike, bytes, bytearray, memoryview)):
            raise TypeError(f"a pair's inputs must be paths, URLs or bytes, got {type(x).__name__}")
    # a memoryview cannot be pickled (Ray, thread results): hold the bytes themselves
    return tuple(bytes(x) if isinstance(x, memoryview) else x for x in item)


def _key(ref: Any, cand: Any) -> Key:
    return (label(ref), label(cand))


def _pending(pairs: Iterable, done: Callable[[Key], bool]):
    """(key, reference, candidate) for each pair not yet in the output; a pair listed twice is one pair. A list
    for sized input (so the progress bar has a total), a lazy generator otherwise."""
    def gen():
        seen: set[Key] = set()
        for item in pairs:
            ref, cand = _as_pair(item)
            key = _key(ref, cand)
            if key in seen or done(key):
                continue
            seen.add(key)
            yield key, ref, cand
    return list(gen()) if isinstance(pairs, Sequence) else gen()


# ------------------------------------------------------------------------------------------- local executor

def _run_local(items: Iterable, *, task: Task, workers: int | None, device: str, preset: str, tamper: bool,
               window: int | None, **_: Any) -> Iterator[tuple[Key, dict]]:
    if device == "cuda":
        from ..vsig import cuda

        cuda.cupy_module()  # DeviceUnavailable now, once, rather than as every pair's error
    cpus = os.cpu_count() or 1
    n = workers or cpus
    if isinstance(items, list):
        n = max(1, min(n, len(items)))   # one pair: no pool at all, and its signature gets every core
    kwargs = dict(device=device, preset=preset, threads=max(1, cpus // n), tamper=tamper)
    if n == 1:
        for key, ref, cand in items:
            yield key, task(ref, cand, **kwargs)
        return
    limit = window or 2 * n
    it = iter(items)
    inflight: dict = {}
    pool = ThreadPoolExecutor(n, thread_name_prefix="lpcore-verify")
    try:
        while True:
            for key, ref, cand in it:
                inflight[pool.submit(task, ref, cand, **kwargs)] = key
                if len(inflight) >= limit:
                    break
            if not inflight:
                return
            finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
            for future in finished:
                yield inflight.pop(future), future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------------------------- Ray executor

@dataclass(frozen=True)
class Plan:
    """How the Ray executor uses a cluster: ``kind`` "tasks" (stateless tasks, one CPU each) or "actors" (one
    long-lived signer per GPU); ``slots`` tasks or actors at once; ``device`` they compute on."""

    kind: str
    slots: int
    device: str
    num_gpus: float = 0.0


def plan_ray(resources: Mapping[str, float], device: str = "auto", workers: int | None = None) -> Plan:
    """The executor's choice for a cluster with ``resources`` (``ray.cluster_resources()``): GPU actors, one per
    GPU (at most ``workers``), when the cluster has GPUs and ``device`` is "auto" or "cuda"; CPU tasks
    otherwise (``workers`` or one per cluster CPU at once). "cuda" on a cluster without GPUs is an error."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    gpus = int(math.floor(resources.get("GPU", 0) + 1e-9))
    cpus = max(1, int(math.floor(resources.get("CPU", 1) + 1e-9)))
    if device == "cpu" or (device == "auto" and gpus == 0):
        return Plan("tasks", workers or cpus, "cpu")
    if gpus == 0:
        raise DeviceUnavailable("device='cuda': the Ray cluster has no GPU")
    return Plan("actors", min(workers, gpus) if workers else gpus, "cuda", 1.0)


def _import_ray():
    from .._extras import require

    (ray,) = require("ray", "ray", feature="the Ray executor")
    return ray


@contextlib.contextmanager
def _ray_session(ray, address: str | None, workers: int | None) -> Iterator[None]:
    """Uses the Ray connection this process already has, else starts a private local instance (``address``
    None or "local": never an unrelated cluster found through RAY_ADDRESS or /tmp/ray) or joins ``address``;
    shuts down only what it started."""
    if ray.is_initialized():
        yield
        return
    quiet = dict(logging_level=logging.WARNING, log_to_driver=False)
    try:
        if address in (None, "local"):
            ray.init(address="local", num_cpus=workers, include_dashboard=False, **quiet)
        else:
            ray.init(address=address, **quiet)
    except Exception as e:  # noqa: BLE001 -- ConnectionError, ValueError, RuntimeError, gRPC errors...
        where = f"join the Ray cluster at {address!r}" if address not in (None, "local") else "start a local Ray"
        raise BatchError(f"cannot {where}: {e}") from None
    try:
        yield
    finally:
        ray.shutdown()


def _probe() -> str:
    import lpcore

    return lpcore.__version__


_REMOTES: dict = {}


def _remote(ray, fn):
    """``ray.remote(fn)``, made once per process: each new remote function is exported to the cluster and
    fetched by every worker on first use, a cost per batch that small batches would notice (Ray re-exports a
    cached one by itself after a new ``ray.init``)."""
    if fn not in _REMOTES:
        _REMOTES[fn] = ray.remote(fn)
    return _REMOTES[fn]


def _call(task: Task, reference: Any, candidate: Any, kwargs: dict) -> dict:
    return task(reference, candidate, **kwargs)


class _Signer:
    """A Ray actor per GPU: keeps CuPy, the CUDA context and the compiled kernels warm across pairs (a fresh
    task would pay them for every pair)."""

    def __init__(self, task: Task, kwargs: dict):
        if kwargs["device"] == "cuda":
            import numpy as np

            from ..vsig import compute

            compute(np.zeros((1, 32, 32), np.uint8), device="cuda")  # DeviceUnavailable here, once; compiles
            if kwargs.get("tamper"):     # rows then decode into profiles: compile that kernel too
                from ..vsig import compute_profile

                grey = np.full((1, 16, 16), 128, np.uint8)
                compute_profile(np.zeros((1, 32, 32), np.uint8), grey, grey, device="cuda")
        self.task, self.kwargs = task, kwargs

    def ready(self) -> bool:
        return True

    def verify(self, reference: Any, candidate: Any) -> dict:
        return self.task(reference, candidate, **self.kwargs)


class _Shipper:
    """Bytes inputs go to the object store once per batch and content: a reference shared by several candidates
    then crosses the network once per node, not once per pair (Ray resolves an ObjectRef argument to its value
    on the worker). The last SHIP_CACHE contents are kept; paths and URLs travel as they are."""

    def __init__(self, ray):
        self.ray = ray
        self.refs: OrderedDict = OrderedDict()

    def __call__(self, name: str, x: Any):
        if not isinstance(x, (bytes, bytearray)):
            return x
        obj = self.refs.get(name)
        if obj is None:
            obj = self.refs[name] = self.ray.put(x)
            while len(self.refs) > SHIP_CACHE:
                self.refs.popitem(last=False)
        self.refs.move_to_end(name)
        return obj


class _TaskPool:
    def __init__(self, ray, task: Task, plan: Plan, kwargs: dict):
        self.remote = _remote(ray, _call).options(num_cpus=1, num_gpus=plan.num_gpus, max_retries=RAY_MAX_RETRIES)
        self.task = ray.put(task)
        self.kwargs = kwargs
        self.ship = _Shipper(ray)

    def submit(self, key: Key, reference: Any, candidate: Any):
        return self.remote.remote(self.task, self.ship(key[0], reference), self.ship(key[1], candidate),
                                  self.kwargs)

    def settled(self, obj, error: BaseException | None) -> None:
        pass


class _ActorPool:
    def __init__(self, ray, task: Task, plan: Plan, kwargs: dict):
        from ray import exceptions as rex

        self.rex = rex
        cls = _remote(ray, _Signer).options(num_cpus=1, num_gpus=plan.num_gpus, max_restarts=RAY_MAX_RETRIES,
                                          max_task_retries=RAY_MAX_RETRIES)
        self.actors = [cls.remote(task, kwargs) for _ in range(plan.slots)]
        self.load = {a: 0 for a in self.actors}
        self.owner: dict = {}
        self.ray = ray
        self.ship = _Shipper(ray)
        try:
            ray.get([a.ready.remote() for a in self.actors], timeout=PROBE_TIMEOUT_S)  # GPUs may all be taken
        except rex.RayError:
            self.close()
            raise

    def submit(self, key: Key, reference: Any, candidate: Any):
        if not self.actors:
            raise BatchError("every Ray signer actor died; the rows so far are in the output (resume to go on)")
        actor = min(self.actors, key=self.load.__getitem__)
        obj = actor.verify.remote(self.ship(key[0], reference), self.ship(key[1], candidate))
        self.owner[obj] = actor
        self.load[actor] += 1
        return obj

    def settled(self, obj, error: BaseException | None) -> None:
        actor = self.owner.pop(obj)
        self.load[actor] -= 1
        if isinstance(error, self.rex.ActorDiedError) and actor in self.load:  # dead for good: restarts spent
            self.actors.remove(actor)
            del self.load[actor]

    def close(self) -> None:
        for a in self.actors:
            self.ray.kill(a)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[-1] if text else type(e).__name__


def _run_ray(items: Iterable, *, task: Task, workers: int | None, device: str, preset: str, tamper: bool,
             window: int | None, address: str | None, plan: Plan | None, **_: Any) -> Iterator[tuple[Key, dict]]:
    ray = _import_ray()
    from ray import exceptions as rex

    with _ray_session(ray, address, workers):
        try:
            ray.get(_remote(ray, _probe).options(num_cpus=1).remote(), timeout=PROBE_TIMEOUT_S)
        except rex.GetTimeoutError:
            raise BatchError(f"no Ray worker ran a task within {PROBE_TIMEOUT_S:.0f} s (cluster full?)") from None
        except rex.RayError as e:
            raise BatchError(f"Ray workers cannot run lpcore (is it installed on every node?): "
                             f"{_first_line(e)}") from None
        plan = plan or plan_ray(ray.cluster_resources(), device, workers)
        pool, plan = _start_pool(ray, task, plan, device, preset, tamper, workers)
        try:
            yield from _drive(ray, rex, pool, items, window or RAY_WINDOW_PER_SLOT * plan.slots, tamper)
        finally:
            if isinstance(pool, _ActorPool):
                pool.close()


def _start_pool(ray, task: Task, plan: Plan, device: str, preset: str, tamper: bool, workers: int | None):
    from ray import exceptions as rex

    kwargs = dict(device=plan.device, preset=preset, threads=1 if plan.kind == "tasks" else None, tamper=tamper)
    if plan.kind == "tasks":
        return _TaskPool(ray, task, plan, kwargs), plan
    try:
        return _ActorPool(ray, task, plan, kwargs), plan
    except rex.RayError as e:
        if device == "cuda" or plan.device != "cuda":
            raise DeviceUnavailable(f"the Ray signer actors could not start: {_first_line(e)}") from None
        warnings.warn(f"GPU signer actors could not start ({_first_line(e)}); verifying on CPU tasks",
                      RuntimeWarning, stacklevel=2)
        cpu = plan_ray(ray.cluster_resources(), "cpu", workers)
        return _TaskPool(ray, task, cpu, dict(kwargs, device="cpu", threads=1)), cpu


def _drive(ray, rex, pool, items: Iterable, window: int, tamper: bool) -> Iterator[tuple[Key, dict]]:
    """Keeps at most ``window`` pairs in flight and yields (key, row) as they complete. Accounting: every pair
    has one submission in flight at a time; a failed submission (worker or actor died after Ray's own retries,
    object lost) is resubmitted up to RESUBMITS times, then becomes an error row. So each pair read from
    ``items`` yields exactly one row."""
    inflight: dict = {}          # ObjectRef -> (key, reference, candidate, attempt)
    try:
        yield from _drive_loop(ray, rex, pool, iter(items), window, tamper, inflight)
    finally:
        for obj in inflight:     # the consumer stopped early (interrupt): free the workers
            with contextlib.suppress(Exception):
                _cancel(ray, obj)


def _cancel(ray, obj) -> None:
    """Cancels one in-flight task by replacing its worker process, not by interrupting it: a KeyboardInterrupt
    delivered into a running task can land in the middle of an import (numba's takes seconds in a cold worker),
    and a worker reused after that fails every later task ("module 'numba' has no attribute 'core'"). Actor tasks
    cannot be force-cancelled; their actors are killed when the batch ends (``_ActorPool.close``)."""
    try:
        ray.cancel(obj, force=True)
    except ValueError:
        ray.cancel(obj)


def _drive_loop(ray, rex, pool, it: Iterator, window: int, tamper: bool, inflight: dict):
    while True:
        for key, ref, cand in it:
            inflight[pool.submit(key, ref, cand)] = (key, ref, cand, 1)
            if len(inflight) >= window:
                break
        if not inflight:
            return
        ready, _ = ray.wait(list(inflight), num_returns=1)
        for obj in ready:
            key, ref, cand, attempt = inflight.pop(obj)
            try:
                row = ray.get(obj)
            except rex.RayTaskError as e:   # the task itself raised: deterministic, retrying would not help
                pool.settled(obj, e)
                row = make_row(*key, tamper=tamper, error=f"verification task failed: {_first_line(e)}")
            except rex.RayError as e:       # the worker, actor or node died (Ray has already retried)
                pool.settled(obj, e)
                if attempt <= RESUBMITS:
                    inflight[pool.submit(key, ref, cand)] = (key, ref, cand, attempt + 1)
                    continue
                row = make_row(*key, tamper=tamper, error=f"the Ray worker died on every attempt "
                               f"({attempt * (RAY_MAX_RETRIES + 1)}): {_first_line(e)}")
            else:
                pool.settled(obj, None)
            yield key, row


# ---------------------------------------------------------------------------------------------- the batch

def _preflight(executor: str, workers: Any, device: str, preset: str, window: Any) -> None:
    """Argument checks, and the missing Ray extra, before any output is opened or any work is done."""
    from ..vsig.match import PRESETS

    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    for name, v in (("workers", workers), ("window", window)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ValueError(f"{name} must be a positive int or None, got {v!r}")
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    if executor == "ray":
        _import_ray()


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(progress: bool | None, total: int | None):
    """tqdm's bar (pairs/s, and the ETA when the total is known) on stderr; nothing off a terminal or without
    tqdm (it comes with the ``ray`` extra)."""
    enabled = sys.stderr.isatty() if progress is None else bool(progress)
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, unit="pair", desc="verify", disable=not enabled, file=sys.stderr, dynamic_ncols=True,
                smoothing=0.1)


def iter_batch(pairs: Iterable, *, executor: str = "local", address: str | None = None, workers: int | None = None,
               device: str = "auto", preset: str = DEFAULT_PRESET, out: str | os.PathLike | Sink | None = None,
               resume: bool = False, progress: bool | None = None, window: int | None = None,
               _task: Task | None = None, _plan: Plan | None = None) -> Iterator[dict]:
    """Verifies ``pairs`` and yields each new row as it completes (completion order), after writing it to
    ``out``. Arguments as :func:`run_batch`; pairs skipped by ``resume`` are not yielded."""
    _preflight(executor, workers, device, preset, window)
    task = _task or verify_pair                     # looked up per batch: tests substitute counting tasks
    sink = open_sink(out, resume=resume) if isinstance(out, (str, os.PathLike)) else out
    try:
        items = _pending(pairs, sink.has if sink is not None else (lambda key: False))
        tamper = tamper_detector() is not None      # one decision for the whole batch: rows share their keys
        run = _run_local if executor == "local" else _run_ray
        emitted: set[Key] = set()
        with contextlib.closing(_progress_bar(progress, len(items) if isinstance(items, list) else None)) as bar:
            for key, row in run(items, task=task, workers=workers, device=device, preset=preset, tamper=tamper,
                                window=window, address=address, plan=_plan):
                if key in emitted:
                    continue                        # never a pair twice, whatever an executor does
                emitted.add(key)
                row["reference"], row["candidate"] = key
                if sink is not None:
                    sink.write(row)
                bar.update(1)
                yield row
    finally:
        if sink is not None and sink is not out:
            sink.close()


def run_batch(pairs: Iterable, *, executor: str = "local", address: str | None = None, workers: int | None = None,
              device: str = "auto", preset: str = DEFAULT_PRESET, out: str | os.PathLike | Sink | None = None,
              resume: bool = False, progress: bool | None = None, window: int | None = None,
              _task: Task | None = None, _plan: Plan | None = None) -> list[dict]:
    """Verifies every (reference, candidate) pair and returns one row per distinct pair, in input order.

    ``pairs``: (reference, candidate) tuples or mappings; each input a path or URL the workers can read, or the
    encoded media as bytes. ``executor``: "local" (threads in this process) or "ray" (``address``: None starts a
    local instance with ``workers`` CPUs; "auto", "ray://host:port" or "host:port" joins a cluster).
    ``workers``: pairs at once (default: every core, or every cluster CPU). ``device``: "auto", "cpu" or "cuda".
    ``preset``: the matching preset of ``match_code`` (default: the Verifier's). ``out``: a ``.jsonl`` or
    ``.sqlite`` path (or a :class:`~lpcore.verify.sinks.Sink`) each row is written to as it arrives;
    ``resume``: skip the pairs already in ``out`` (their stored rows are returned). ``progress``: a progress
    bar on stderr (None: only on a terminal). ``window``: pairs in flight (default: twice ``workers`` in-process,
    4 per Ray slot).
    Raises :class:`lpcore.errors.BatchError` when the run cannot proceed (no Ray, bad output, unreachable
    cluster); a bad pair never raises, it gets an error row.
    """
    _preflight(executor, workers, device, preset, window)
    pairs = list(pairs)
    sink = open_sink(out, resume=resume) if isinstance(out, (str, os.PathLike)) else out
    try:
        new = {row_key(r): r for r in iter_batch(pairs, executor=executor, address=address, workers=workers,
                                                  device=device, preset=preset, out=sink, progress=progress,
                                                  window=window, _task=_task, _plan=_plan)}
        previous = sink.previous if sink is not None else {}
        rows, seen = [], set()
        for item in pairs:
            key = _key(*_as_pair(item))
            if key not in seen:
                seen.add(key)
                rows.append(new[key] if key in new else previous[key])
        return rows
    finally:
        if sink is not None and sink is not out:
            sink.close()


def clean(row: dict) -> bool:
    """A row that verified clean: no error, the signatures match (the Verifier's rule: code > 0) and, when
    tamper detection ran, no tampering."""
    return row.get("error") is None and bool(row.get("match_code")) and row.get("tampered") is not True
