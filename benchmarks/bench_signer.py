"""Remote signer throughput: ``/generate-live-payment`` with 100 tickets per request.

Two implementations of the *same* handler (``lpcore.signer.RemoteSigner``) differ only in how tickets are
signed: lpcore's ``pm.Signer.sign_batch`` (one C call, GIL released, threads) versus the peer a Python signer
would otherwise write, a per-ticket ``coincurve.PrivateKey.sign_recoverable`` loop over the EIP-191 digests.

- ``test_handler_*``: the handler in-process (pytest-benchmark), no HTTP.
- ``test_http_load``: each handler served by uvicorn in its own process on 127.0.0.1, driven by a bounded
  load generator (fixed request count, hard time cap, a few keep-alive connections); reports requests/s,
  tickets/s and p50/p99 latency in ``extra_info`` and prints a table.

Run: ``PYTHONPATH=src python3 -m pytest benchmarks/bench_signer.py -s`` (or ``python3 benchmarks/bench_signer.py``).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

from lpcore.signer import proto
from lpcore._bench.signer import TICKETS, make_signer, request_body
REQUESTS = int(os.environ.get("LPCORE_BENCH_SIGNER_REQUESTS", "200"))
CONCURRENCY = int(os.environ.get("LPCORE_BENCH_SIGNER_CONCURRENCY", "4"))
TIME_CAP_S = float(os.environ.get("LPCORE_BENCH_SIGNER_TIME_CAP", "30"))


def _check(body: bytes) -> None:
    payment = proto.Payment.FromString(base64.b64decode(json.loads(body)["payment"]))
    assert len(payment.ticket_sender_params) == TICKETS


# -- in-process handler -----------------------------------------------------------------------------------------

def test_handler_lpcore(benchmark):
    signer, body = make_signer("lpcore"), request_body()
    _check(signer.generate_live_payment(body).body)
    benchmark.extra_info["tickets_per_call"] = TICKETS
    benchmark(signer.generate_live_payment, body)


def test_handler_coincurve_loop(benchmark):
    signer, body = make_signer("coincurve"), request_body()
    reference = make_signer("lpcore").generate_live_payment(body).body
    out = signer.generate_live_payment(body).body
    _check(out)
    # Same handler, same deterministic signatures: the payments are byte-identical.
    assert json.loads(out)["payment"] == json.loads(reference)["payment"]
    benchmark.extra_info["tickets_per_call"] = TICKETS
    benchmark(signer.generate_live_payment, body)


# -- HTTP under a bounded local load generator ----------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(impl: str) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", str(port), impl], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode(errors="replace"))
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("signer server did not start")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), a load-independent cost measure on a shared machine."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def run_load(port: int, body: bytes, requests: int = REQUESTS, concurrency: int = CONCURRENCY,
             time_cap_s: float = TIME_CAP_S, server_pid: int | None = None) -> dict:
    """POST ``body`` ``requests`` times over ``concurrency`` keep-alive connections; stop early at the cap."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    counter = iter(range(requests))
    deadline = time.monotonic() + time_cap_s

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while time.monotonic() < deadline:
                with lock:
                    if next(counter, None) is None:
                        return
                t0 = time.perf_counter()
                conn.request("POST", "/generate-live-payment", body, {"Content-Type": "application/json"})
                reply = conn.getresponse()
                data = reply.read()
                dt = time.perf_counter() - t0
                with lock:
                    if reply.status == 200:
                        latencies.append(dt)
                    else:
                        failures[0] += 1
                if reply.status != 200:
                    raise RuntimeError(data.decode(errors="replace"))
        finally:
            conn.close()

    # Warm-up (imports, first signatures) outside the measurement.
    warm = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    warm.request("POST", "/generate-live-payment", body, {"Content-Type": "application/json"})
    _check(warm.getresponse().read())
    warm.close()
    cpu0 = _cpu_seconds(server_pid) if server_pid else float("nan")
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    cpu = _cpu_seconds(server_pid) - cpu0 if server_pid else float("nan")
    lat = sorted(latencies)
    n = len(lat)
    return {
        "requests": n,
        "failures": failures[0],
        "seconds": elapsed,
        "requests_per_s": n / elapsed if elapsed else 0.0,
        "tickets_per_s": n * TICKETS / elapsed if elapsed else 0.0,
        "p50_ms": 1e3 * statistics.median(lat) if lat else float("nan"),
        "p99_ms": 1e3 * lat[min(n - 1, int(0.99 * n))] if lat else float("nan"),
        "server_cpu_ms_per_request": 1e3 * cpu / n if n else float("nan"),
    }


def http_comparison(rounds: int = 2) -> dict[str, dict]:
    """Serve each implementation in its own process and load it; rounds alternate the order (shared machine),
    and the best round by requests/s is kept."""
    body = request_body()
    results: dict[str, dict] = {}
    order = ["lpcore", "coincurve"]
    for r in range(rounds):
        for impl in order if r % 2 == 0 else order[::-1]:
            result = _load_one(impl, body)
            if impl not in results or result["requests_per_s"] > results[impl]["requests_per_s"]:
                results[impl] = result
    return {impl: results[impl] for impl in order}


def _load_one(impl: str, body: bytes) -> dict:
    proc, port = start_server(impl)
    try:
        return run_load(port, body, server_pid=proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def format_table(results: dict[str, dict]) -> str:
    rows = [f"{'handler':<22}{'req/s':>9}{'tickets/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'cpu ms/req':>11}{'n':>6}"]
    for impl, r in results.items():
        name = "lpcore sign_batch" if impl == "lpcore" else "coincurve per-ticket"
        rows.append(f"{name:<22}{r['requests_per_s']:>9.1f}{r['tickets_per_s']:>11.0f}{r['p50_ms']:>9.2f}"
                    f"{r['p99_ms']:>9.2f}{r['server_cpu_ms_per_request']:>11.2f}{r['requests']:>6}")
    if results["coincurve"]["requests_per_s"]:
        ratio = results["lpcore"]["requests_per_s"] / results["coincurve"]["requests_per_s"]
        rows.append(f"ratio (req/s): {ratio:.2f}x")
    return "\n".join(rows)


def test_http_load(benchmark):
    results = benchmark.pedantic(http_comparison, rounds=1, iterations=1)
    for impl, r in results.items():
        for key, value in r.items():
            benchmark.extra_info[f"{impl}_{key}"] = value
    print("\n" + format_table(results))
    assert all(r["failures"] == 0 and r["requests"] > 0 for r in results.values())


def _serve(port: int, impl: str) -> None:
    import uvicorn

    from lpcore.signer.app import create_app

    uvicorn.run(create_app(make_signer(impl)), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        _serve(int(sys.argv[2]), sys.argv[3])
    else:
        import timeit

        body = request_body()
        for impl in ("lpcore", "coincurve"):
            s = make_signer(impl)
            n = 50
            t = timeit.timeit(lambda: s.generate_live_payment(body), number=n) / n
            print(f"in-process {impl:<10} {1e3 * t:8.2f} ms/request ({TICKETS} tickets)")
        print(format_table(http_comparison()))
