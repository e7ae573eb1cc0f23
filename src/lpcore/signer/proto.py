"""Protobuf messages of the Livepeer wire protocol (package ``net``), as used by the remote signer.

The messages are built at import from ``lp_rpc.proto`` (embedded as a serialized descriptor, see
``scripts/gen-signer-proto.sh``) into a **private** descriptor pool: the official SDK registers its own
``net.*`` messages in protobuf's default pool, and both must coexist in one process. Only field numbers
and types travel on the wire, so the two sets of classes interoperate byte for byte.
"""

from __future__ import annotations

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from ._lp_rpc_desc import SERIALIZED_FILE_DESCRIPTOR

_POOL = descriptor_pool.DescriptorPool()
_POOL.AddSerializedFile(SERIALIZED_FILE_DESCRIPTOR)


def _message(name: str) -> type:
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName("net." + name))


OrchestratorRequest = _message("OrchestratorRequest")
OrchestratorInfo = _message("OrchestratorInfo")
PriceInfo = _message("PriceInfo")
AuthToken = _message("AuthToken")
Capabilities = _message("Capabilities")
TicketParams = _message("TicketParams")
TicketExpirationParams = _message("TicketExpirationParams")
TicketSenderParams = _message("TicketSenderParams")
Payment = _message("Payment")
PaymentResult = _message("PaymentResult")
SegData = _message("SegData")

MESSAGE_NAMES = (
    "OrchestratorRequest", "OSInfo", "S3OSInfo", "PriceInfo", "Capabilities", "GPUComputeInfo",
    "HardwareInformation", "AuthToken", "OrchestratorInfo", "TicketParams", "TicketExpirationParams",
    "TicketSenderParams", "Payment", "PaymentResult", "SegParameters", "VideoProfile", "SegData",
)


def descriptor(name: str):
    """The message descriptor of ``net.<name>`` in lpcore's private pool."""
    return _POOL.FindMessageTypeByName("net." + name)


def parse(cls: type, data: bytes):
    """Parse ``data`` as ``cls``; raise ``ValueError`` with a Go-style ``proto:`` message when malformed."""
    msg = cls()
    try:
        msg.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        # Go's proto.Unmarshal reports "proto: cannot parse invalid wire-format data" for any framing error;
        # the exact wording of the Python runtime differs between its backends, so keep Go's.
        raise ValueError("proto: cannot parse invalid wire-format data") from exc
    return msg


__all__ = [
    "OrchestratorRequest", "OrchestratorInfo", "PriceInfo", "AuthToken", "Capabilities", "TicketParams",
    "TicketExpirationParams", "TicketSenderParams", "Payment", "PaymentResult", "SegData", "descriptor",
    "parse", "MESSAGE_NAMES",
]
