"""Fixtures shared by the signer tests: a controllable clock and a signer on it (the default config).

Helpers are imported inside the fixtures: tests/signer/helpers.py needs the signer extra (protobuf), and each
test module skips itself where that is missing, which a module-level import here would pre-empt."""

from __future__ import annotations

import pytest


@pytest.fixture
def clock():
    from tests.signer.helpers import Clock

    return Clock()


@pytest.fixture
def signer(clock):
    from lpcore.signer import SignerConfig
    from tests.signer.helpers import make_signer

    return make_signer(SignerConfig(), clock)
