"""The marketplace: posted prices, discovery, gateway-side selection, suspension and reputation.

- :mod:`~lpcore.market.prices`: exact posted prices, the gateway's max prices (USD through a price source), fees.
- :mod:`~lpcore.market.selection`: go-livepeer's ProbabilitySelection, MinLSSelector, LiveSelectionAlgorithm.
- :mod:`~lpcore.market.suspension`: the suspender (AI semantics by default), refresh thresholds, swap limiter.
- :mod:`~lpcore.market.verification`: who gets a segment under fast verification; verdicts -> suspensions.
- :mod:`~lpcore.market.reputation`: a durable per-orchestrator record (SQLite).
- :mod:`~lpcore.market.policy`: lpcore's own selection policy (``"lpcore"``).
- :mod:`~lpcore.market.discovery`: static lists, webhooks, the remote signer, on-chain; the gRPC fan-out.
- :mod:`~lpcore.market.simulate`: a marketplace simulation comparing policies.

Importing this package needs only the base dependencies; gRPC and protobuf load when discovery queries an
orchestrator (``pip install 'lpcore[market]'``).
"""

from .prices import (FixedEthPrice, MaxPrices, Price, PriceInfo, ai_fee, as_price, job_price, parse_price_per_unit,
                     posted_prices, tickets_for_fee, transcode_fee)
from .selection import (Candidate, LiveSelectionAlgorithm, MinLSSelector, ProbabilitySelection, Session, can_reuse,
                        is_version_compatible, latency_score)
from .suspension import Suspender, SwapLimiter, refresh_threshold, transcoding_penalty
from .verification import FastVerification, Selection
from . import reputation  # noqa: E402  (base deps only; the Reputation store)

__all__ = [
    "PriceInfo", "Price", "MaxPrices", "FixedEthPrice", "as_price", "parse_price_per_unit", "transcode_fee",
    "ai_fee", "tickets_for_fee", "job_price", "posted_prices",
    "Candidate", "ProbabilitySelection", "LiveSelectionAlgorithm", "MinLSSelector", "Session", "latency_score",
    "can_reuse", "is_version_compatible",
    "Suspender", "SwapLimiter", "refresh_threshold", "transcoding_penalty",
    "FastVerification", "Selection", "reputation",
]
