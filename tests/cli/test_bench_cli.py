"""`lpcore bench`: the sub-command parses, runs every pm row on a tiny batch and prints one line per peer."""

from __future__ import annotations

import argparse

import pytest

from lpcore import bench
from lpcore._bench import pm as pm_bench


def test_bench_prints_a_row_per_peer(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    bench.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "-n", "20", "--repeat", "1"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    cases = [case for row_fn in bench.row_functions() for case in row_fn(20)]  # pm rows and every area's rows
    for case in cases:
        assert case.name in out
    peer_lines = [line for line in out.splitlines() if line.rstrip().endswith("x")]
    assert len(peer_lines) == sum(len(c.peers) for c in cases)


def test_bench_cases_agree_with_their_peers() -> None:
    """Each peer computes the same thing as lpcore (otherwise the ratio would be meaningless)."""
    import numpy as np

    cases = {c.name: c for c in pm_bench.rows(50)}
    sigs = cases["sign_batch"].ours()
    for peer in cases["sign_batch"].peers.values():
        assert [bytes(r) for r in sigs] == peer()
    addrs = cases["recover_batch"].ours()
    for peer in cases["recover_batch"].peers.values():
        assert [bytes(r) for r in addrs] == peer()
    assert cases["verify_batch"].ours().all()
    for peer in cases["verify_batch"].peers.values():
        assert all(peer())
    wins = cases["is_winning_batch"].ours()
    for peer in cases["is_winning_batch"].peers.values():
        assert wins.tolist() == peer()
    hashes = cases["ticket_hashes_columns"].ours()
    for peer in cases["ticket_hashes_columns"].peers.values():
        assert [bytes(r) for r in hashes] == peer()
    digest = cases["keccak256 8 MB"].ours()
    for peer in cases["keccak256 8 MB"].peers.values():
        assert digest == peer()
    raw = cases["sign_batch 1 thread"].peers["bare libsecp256k1 (C loop)"]()
    ours = cases["sign_batch 1 thread"].ours()
    assert np.array_equal(raw[:, :64], ours[:, :64]) and np.array_equal(raw[:, 64] + 27, ours[:, 64])


def test_bench_rejects_bad_sizes() -> None:
    parser = argparse.ArgumentParser()
    bench.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "-n", "0"])
    with pytest.raises(SystemExit):
        args.func(args)
