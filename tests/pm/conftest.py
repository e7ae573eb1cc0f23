"""Fixtures for the payment-role tests."""

import pytest

from tests.pm.helpers import Node


@pytest.fixture
def node(tmp_path):
    return Node(tmp_path)
