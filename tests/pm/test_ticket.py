"""Ticket packing and hashing (spec/pm.md §1, §8.1, §8.2, §8.5 EV, §8.6) against the published vectors and a
pure-Python packing hashed with pycryptodome."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from Crypto.Hash import keccak as cd_keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from lpcore import InvalidTicket, keccak256, pm

from tests._shared import vector_path

VECTORS = json.loads(vector_path("pm_vectors.json").read_text())
MAX = 2**256 - 1


def oracle_keccak(data: bytes) -> bytes:
    return cd_keccak.new(data=data, digest_bits=256).digest()


def python_preimage(t: pm.Ticket) -> bytes:
    """Independent packing straight from the spec's table (§1.3) and auxData rule (§1.4)."""
    aux = b""
    if t.creation_round != 0 or t.creation_round_block_hash != bytes(32):
        aux = t.creation_round.to_bytes(32, "big") + t.creation_round_block_hash
    return (t.recipient + t.sender + t.face_value.to_bytes(32, "big") + t.win_prob.to_bytes(32, "big")
            + t.sender_nonce.to_bytes(32, "big") + t.recipient_rand_hash + aux)


def ticket_from_vector(v: dict) -> pm.Ticket:
    return pm.Ticket(
        recipient=bytes.fromhex(v["recipient"]),
        sender=bytes.fromhex(v["sender"]),
        face_value=int(v["face_value"]),
        win_prob=int(v["win_prob"]),
        sender_nonce=int(v["sender_nonce"]),
        recipient_rand_hash=bytes.fromhex(v["recipient_rand_hash"]),
        creation_round=int(v["creation_round"]),
        creation_round_block_hash=bytes.fromhex(v["creation_round_block_hash"]),
    )


@pytest.mark.parametrize("v", VECTORS["ticket_hash"]["vectors"], ids=lambda v: v["name"])
def test_go_ticket_hash_vectors(v: dict) -> None:
    t = ticket_from_vector(v)
    assert t.hash().hex() == v["ticket_hash"]
    assert t.aux_data().hex() == v["aux_data"]
    assert len(python_preimage(t)) == v["preimage_length"]
    assert python_preimage(t).hex() == v["preimage"]


def test_go_ticket_hash_vectors_batched() -> None:
    vs = VECTORS["ticket_hash"]["vectors"]
    tickets = [ticket_from_vector(v) for v in vs]
    for threads in (None, 1, 2, 5):
        out = pm.ticket_hashes(tickets, threads=threads)
        assert out.shape == (len(vs), 32) and out.dtype == np.uint8
        assert [bytes(r).hex() for r in out] == [v["ticket_hash"] for v in vs]


@pytest.mark.parametrize("v", VECTORS["aux_data"]["vectors"], ids=lambda v: v["name"])
def test_aux_data_vectors(v: dict) -> None:
    t = pm.Ticket(bytes(20), bytes(20), 0, 0, 0, bytes(32), creation_round=int(v["creation_round"]),
                  creation_round_block_hash=bytes.fromhex(v["creation_round_block_hash"]))
    assert t.aux_data().hex() == v["aux_data"]


@pytest.mark.parametrize("v", VECTORS["expected_value"]["vectors"])
def test_expected_value_vectors(v: dict) -> None:
    t = pm.Ticket(bytes(20), bytes(20), int(v["face_value"]), int(v["win_prob"]), 0, bytes(32))
    ev = t.expected_value()
    assert ev == Fraction(int(v["face_value"]) * int(v["win_prob"]), MAX)
    # Go's big.Rat.FloatString(0) rounds half away from zero.
    rendered = (ev.numerator * 2 + ev.denominator) // (2 * ev.denominator)
    assert str(rendered) == v["ev_float_string_0"]


def test_protocol_recipe_hashes() -> None:
    r = VECTORS["protocol_recipe"]
    for v in r["vectors"]:
        t = pm.Ticket(
            recipient=bytes.fromhex(r["recipient"]), sender=bytes.fromhex(r["sender"]),
            face_value=int(v["face_value"]), win_prob=int(r["win_prob"]), sender_nonce=int(r["sender_nonce"]),
            recipient_rand_hash=pm.recipient_rand_hash(int(r["recipient_rand"])),
            creation_round=int(r["creation_round"]),
            creation_round_block_hash=bytes.fromhex(r["creation_round_block_hash"]),
        )
        assert t.recipient_rand_hash.hex() == r["recipient_rand_hash"]
        assert t.aux_data().hex() == r["aux_data"]
        assert python_preimage(t).hex() == v["preimage"]
        assert t.hash().hex() == v["ticket_hash"]


def test_columns_broadcast_a_payment() -> None:
    """A Payment: shared params, N nonces, hashed in one call, equal to hashing N Tickets one by one."""
    recipient, sender = bytes(range(20)), bytes(range(20, 40))
    rrh, block = keccak256(b"rand"), keccak256(b"block")
    nonces = list(range(1, 1001))
    out = pm.ticket_hashes_columns(recipient, sender, 10**18, MAX // 7, nonces, rrh, 12345, block)
    assert out.shape == (1000, 32)
    for i in (0, 1, 500, 999):
        t = pm.Ticket(recipient, sender, 10**18, MAX // 7, nonces[i], rrh, 12345, block)
        assert out[i].tobytes() == t.hash() == oracle_keccak(python_preimage(t))
    arr_nonces = pm.ticket_hashes_columns(recipient, sender, 10**18, MAX // 7, np.array(nonces, dtype=np.uint32),
                                          rrh, 12345, block)
    assert np.array_equal(arr_nonces, out)


def test_columns_all_scalar_is_one_row_and_empty_batch() -> None:
    out = pm.ticket_hashes_columns(bytes(20), bytes(20), 0, 0, 4294967295, bytes(32))
    assert out.shape == (1, 32)
    assert out[0].tobytes().hex() == VECTORS["ticket_hash"]["vectors"][0]["ticket_hash"]
    empty = pm.ticket_hashes_columns(bytes(20), bytes(20), 0, 0, [], bytes(32))
    assert empty.shape == (0, 32) and empty.dtype == np.uint8
    assert pm.ticket_hashes([]).shape == (0, 32)


def test_columns_length_mismatch() -> None:
    with pytest.raises(ValueError, match="rows"):
        pm.ticket_hashes_columns(bytes(20), bytes(20), [1, 2, 3], 0, [1, 2], bytes(32))


@pytest.mark.parametrize(
    "field,value,exc",
    [
        ("recipient", bytes(19), InvalidTicket),
        ("sender", bytes(21), InvalidTicket),
        ("recipient", "00" * 20, TypeError),
        ("face_value", -1, InvalidTicket),
        ("face_value", 2**256, InvalidTicket),
        ("win_prob", 2**256, InvalidTicket),
        ("win_prob", 1.5, TypeError),
        ("sender_nonce", 2**32, InvalidTicket),
        ("sender_nonce", -1, InvalidTicket),
        ("recipient_rand_hash", bytes(31), InvalidTicket),
        ("creation_round", 2**63, InvalidTicket),
        ("creation_round", -1, InvalidTicket),
        ("creation_round_block_hash", bytes(33), InvalidTicket),
        ("params_expiration_block", -1, InvalidTicket),
        ("price_per_pixel", 0.5, TypeError),
    ],
)
def test_ticket_validates_widths(field: str, value: object, exc: type) -> None:
    kwargs = dict(recipient=bytes(20), sender=bytes(20), face_value=0, win_prob=0, sender_nonce=0,
                  recipient_rand_hash=bytes(32))
    kwargs[field] = value
    with pytest.raises(exc, match=field):
        pm.Ticket(**kwargs)  # type: ignore[arg-type]


def test_ticket_edges_accepted_and_frozen() -> None:
    t = pm.Ticket(bytearray(20), bytes(20), MAX, MAX, 2**32 - 1, bytes(32), 2**63 - 1, b"\xff" * 32,
                  price_per_pixel=3)
    assert isinstance(t.recipient, bytes) and t.price_per_pixel == Fraction(3)
    assert t.hash() == oracle_keccak(python_preimage(t))
    with pytest.raises(AttributeError):
        t.face_value = 1  # type: ignore[misc]


addr = st.binary(min_size=20, max_size=20)
h32 = st.binary(min_size=32, max_size=32)
u256 = st.one_of(st.sampled_from([0, 1, MAX, MAX - 1, 2**255]), st.integers(0, MAX))
tickets = st.builds(
    pm.Ticket,
    recipient=addr, sender=addr, face_value=u256, win_prob=u256,
    sender_nonce=st.one_of(st.sampled_from([0, 1, 2**32 - 1]), st.integers(0, 2**32 - 1)),
    recipient_rand_hash=h32,
    creation_round=st.one_of(st.just(0), st.sampled_from([1, 2**63 - 1]), st.integers(0, 2**63 - 1)),
    creation_round_block_hash=st.one_of(st.just(bytes(32)), h32),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(tickets, max_size=12))
def test_random_tickets_against_python_packing(ts: list[pm.Ticket]) -> None:
    out = pm.ticket_hashes(ts)
    assert out.shape == (len(ts), 32)
    for t, row in zip(ts, out):
        expect = oracle_keccak(python_preimage(t))
        assert row.tobytes() == expect == t.hash()
        assert len(t.aux_data()) in (0, 64)


def test_native_preimage_matches_vectors() -> None:
    from lpcore import _native_pm

    for v in VECTORS["ticket_hash"]["vectors"]:
        t = ticket_from_vector(v)
        assert _native_pm.ticket_one(*t._packed_fields(), preimage=True).hex() == v["preimage"]


def test_hash_cache_does_not_leak_into_equality_or_replace() -> None:
    import dataclasses

    a = pm.Ticket(bytes(20), bytes(20), 1, 2, 3, bytes(32))
    b = pm.Ticket(bytes(20), bytes(20), 1, 2, 3, bytes(32))
    ha = a.hash()
    assert a == b and hash(a) == hash(b) and repr(a) == repr(b)
    c = dataclasses.replace(a, sender_nonce=4)
    assert c.hash() != ha == b.hash()
    assert c.hash() == pm.ticket_hashes_columns(bytes(20), bytes(20), 1, 2, 4, bytes(32))[0].tobytes()


def test_ticket_one_checks_arguments() -> None:
    from lpcore import _native_pm

    fields = list(pm.Ticket(bytes(20), bytes(20), 1, 2, 3, bytes(32))._packed_fields())
    with pytest.raises(ValueError, match="sender_nonce"):
        _native_pm.ticket_one(*fields[:4], b"\0" * 5, *fields[5:])
    with pytest.raises(TypeError, match="recipient"):
        _native_pm.ticket_one(bytearray(20), *fields[1:])
