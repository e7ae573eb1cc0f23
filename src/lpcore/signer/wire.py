"""The remote signer's protobuf side (spec/remote_signer.md §4.3 steps 2–10, §4.8, §4.9, §6).

Reading ``net.OrchestratorInfo`` and ``net.Capabilities`` the way go-livepeer reads them, writing
``net.Payment`` and the segment credentials (``net.SegData``), and the one response header that echoes a
request field. Capabilities are bounded (:data:`MAX_CAPABILITY_WORDS`) before the work that is proportional
to their size: segCreds derives one capacity entry per set bit.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

import numpy as np

from .. import keccak256, pm
from ..errors import RemoteSignerError
from ..pm.params import minimal_be
from . import proto

#: keccak256 of no bytes: the segment hash of the empty segment behind segCreds.
EMPTY_HASH = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
#: Longest capabilities ``bitstring``/``mandatories`` accepted, in 64-bit words: 1024 capability ids, where
#: go-livepeer defines about 40 (one word). Each set bit becomes a capacity entry in segCreds, so without a
#: bound a 0.93 MB request produced a 52 MB response.
MAX_CAPABILITY_WORDS = 16
#: Most ``capacities`` entries, per-capability constraints, and model constraints (in total) accepted: each is
#: copied into segCreds (and summed for the configured ceiling) one by one. A real request names one model.
MAX_CAPABILITY_ENTRIES = 64 * MAX_CAPABILITY_WORDS
#: Longest ``Livepeer-Orchestrator-URL`` header value (after percent-encoding) the 480 answer carries; clients
#: refuse header lines near 8 KiB (aiohttp: 8190 bytes), and a real orchestrator URL is far below this.
MAX_ORCHESTRATOR_URL_BYTES = 2048
#: The header naming where to refresh orchestrator info on a 480.
ORCHESTRATOR_URL_HEADER = "Livepeer-Orchestrator-URL"


def bytes_to_address(data: bytes) -> bytes:
    """go-ethereum ``BytesToAddress``: the last 20 bytes, left-padded with zeros."""
    return data[-20:].rjust(20, b"\0")


def bytes_to_hash(data: bytes) -> bytes:
    """go-ethereum ``BytesToHash``: the last 32 bytes, left-padded with zeros."""
    return data[-32:].rjust(32, b"\0")


def parse_orchestrator_info(data: bytes) -> Any:
    """Steps 2–5: the request's ``OrchestratorInfo``, with a price and ticket params (400 otherwise)."""
    if not data:
        raise RemoteSignerError(400, "missing orchestrator")
    try:
        info = proto.parse(proto.OrchestratorInfo, data)
    except ValueError as exc:
        raise RemoteSignerError(400, str(exc)) from None
    price = info.price_info
    if not info.HasField("price_info") or price.pricePerUnit == 0 or price.pixelsPerUnit == 0:
        raise RemoteSignerError(400, "missing or zero priceInfo")
    if not info.HasField("ticket_params"):
        raise RemoteSignerError(400, "missing ticketParams in OrchestratorInfo")
    return info


def orchestrator_price(info: Any) -> Fraction:
    """The orchestrator's current price, wei per unit (``pricePerUnit / pixelsPerUnit``)."""
    return Fraction(info.price_info.pricePerUnit, info.price_info.pixelsPerUnit)


def pm_session_id(info: Any) -> str:
    """Step 10: the PM session id, ``0x`` + 64 hex of the recipient_rand_hash the nonces belong to."""
    return "0x" + bytes_to_hash(info.ticket_params.recipient_rand_hash).hex()


def parse_capabilities(data: bytes) -> Any | None:
    """Step 9: the request's ``Capabilities`` (``None`` when absent), bounded by :data:`MAX_CAPABILITY_WORDS`."""
    if not data:
        return None
    try:
        caps = proto.parse(proto.Capabilities, data)
    except ValueError as exc:
        raise RemoteSignerError(400, str(exc)) from None
    for name in ("bitstring", "mandatories"):
        words = len(getattr(caps, name))
        if words > MAX_CAPABILITY_WORDS:
            raise RemoteSignerError(400, f"capabilities {name} has {words} words, more than {MAX_CAPABILITY_WORDS}")
    per_capability = caps.constraints.PerCapability
    counts = (("capacities", lambda: len(caps.capacities)), ("constraints", lambda: len(per_capability)),
              ("model constraints", lambda: sum(len(c.models) for c in per_capability.values())))
    for name, count in counts:  # in this order: the model count iterates the (by then bounded) constraints
        n = count()
        if n > MAX_CAPABILITY_ENTRIES:
            raise RemoteSignerError(400, f"capabilities has {n} {name}, more than {MAX_CAPABILITY_ENTRIES}")
    return caps


def refresh_headers(transcoder: str) -> dict[str, str]:
    """The 480 answer's header naming the orchestrator, always a valid HTTP field value.

    Every byte of the URL's UTF-8 form outside visible ASCII (controls, space, CR/LF, DEL, non-ASCII) is
    percent-encoded as in a URI, so a hostile ``transcoder`` can neither split the response (CR/LF) nor make
    the server fail to encode it (non-Latin-1); an ASCII URL passes unchanged.
    """
    value = "".join(chr(b) if 0x21 <= b <= 0x7E else f"%{b:02X}" for b in transcoder.encode("utf-8"))
    if len(value) > MAX_ORCHESTRATOR_URL_BYTES:
        raise RemoteSignerError(400, f"orchestrator transcoder URL is longer than {MAX_ORCHESTRATOR_URL_BYTES} bytes")
    return {ORCHESTRATOR_URL_HEADER: value}


def ticket_params(info: Any) -> tuple[pm.TicketParams, bytes]:
    """``pm.TicketParams`` from the wire message the way go-livepeer reads it (``BytesToAddress``,
    ``BytesToHash``, ``big.Int.SetBytes``), plus the raw seed bytes to copy back (the seed is not hashed)."""
    tp = info.ticket_params
    expiration = None
    if tp.HasField("expiration_params"):
        expiration = pm.TicketExpirationParams(tp.expiration_params.creation_round,
                                               bytes_to_hash(tp.expiration_params.creation_round_block_hash))
    seed = int.from_bytes(tp.seed, "big")
    params = pm.TicketParams(
        recipient=bytes_to_address(tp.recipient),
        face_value=int.from_bytes(tp.face_value, "big"),
        win_prob=int.from_bytes(tp.win_prob, "big"),
        recipient_rand_hash=bytes_to_hash(tp.recipient_rand_hash),
        seed=seed if seed >> 256 == 0 else 0,
        expiration_block=int.from_bytes(tp.expiration_block, "big"),
        price_per_pixel=orchestrator_price(info),
        expiration_params=expiration,
    )
    return params, minimal_be(seed)


def payment_message(batch: Any, seed: bytes, price_info: Any) -> bytes:
    """Serialize a ``pm.Payment`` as ``net.Payment`` (§4.8): minimal big-endian integers, no expiration
    params inside ``ticket_params``, the request's price info copied whole as ``expected_price``."""
    params = batch.ticket_params
    payment = proto.Payment()
    tp = payment.ticket_params
    tp.recipient = params.recipient
    tp.face_value = minimal_be(params.face_value)
    tp.win_prob = minimal_be(params.win_prob)
    tp.recipient_rand_hash = params.recipient_rand_hash
    tp.seed = seed
    tp.expiration_block = minimal_be(params.expiration_block)
    payment.sender = batch.sender
    payment.expiration_params.creation_round = batch.expiration_params.creation_round
    payment.expiration_params.creation_round_block_hash = batch.expiration_params.creation_round_block_hash
    sigs = np.ascontiguousarray(batch.sigs, dtype=np.uint8).tobytes()
    for i, nonce in enumerate(batch.nonce_array().tolist()):
        payment.ticket_sender_params.add(sender_nonce=nonce, sig=sigs[65 * i: 65 * i + 65])
    payment.expected_price.CopyFrom(price_info)
    return payment.SerializeToString()


def seg_creds(manifest_id: str, caps: Any | None, info: Any, sign: Callable[[bytes], bytes]) -> bytes:
    """The signed ``net.SegData`` of an empty segment (§4.9); ``sign`` is the signer's EIP-191 32-byte signing.

    ``flat = manifestId ‖ uint256(seq 0) ‖ keccak256("")``; the ManifestID rule (``lpcore.signer.request``)
    keeps ``flat`` shorter than any ticket preimage, so this signature can never pass as a ticket's.
    """
    manifest = manifest_id.encode("utf-8")
    flat = manifest + b"\0" * 32 + EMPTY_HASH
    seg = proto.SegData(manifestId=manifest, hash=EMPTY_HASH, profiles=b"invalid", sig=sign(keccak256(flat)))
    if caps is not None:
        seg.capabilities.CopyFrom(normalize_capabilities(caps))
    if info.HasField("auth_token"):
        seg.auth_token.CopyFrom(info.auth_token)
    return seg.SerializeToString()


def normalize_capabilities(caps: Any) -> Any:
    """The capabilities go-livepeer copies into segCreds (§4.9): capacities derived from the bitstring when
    empty, model constraints without ``capacityInUse``, ``constraints`` always present."""
    out = proto.Capabilities()
    out.bitstring.extend(caps.bitstring)
    out.mandatories.extend(caps.mandatories)
    out.version = caps.version
    if caps.capacities:
        for key, value in caps.capacities.items():
            out.capacities[key] = value
    else:
        for word_index, word in enumerate(caps.bitstring):
            for bit in range(64):
                if word >> bit & 1:
                    out.capacities[word_index * 64 + bit] = 1
    out.constraints.minVersion = caps.constraints.minVersion
    for cap_id, constraints in caps.constraints.PerCapability.items():
        target = out.constraints.PerCapability[cap_id]
        for model_id, model in constraints.models.items():
            m = target.models[model_id]
            m.warm = model.warm
            m.capacity = model.capacity
            m.runnerVersion = model.runnerVersion
    out.constraints.SetInParent()
    return out


__all__ = ["EMPTY_HASH", "MAX_CAPABILITY_WORDS", "MAX_CAPABILITY_ENTRIES", "MAX_ORCHESTRATOR_URL_BYTES",
           "ORCHESTRATOR_URL_HEADER",
           "bytes_to_address", "bytes_to_hash", "parse_orchestrator_info", "orchestrator_price", "pm_session_id",
           "parse_capabilities", "refresh_headers", "ticket_params", "payment_message", "seg_creds",
           "normalize_capabilities"]
