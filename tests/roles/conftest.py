import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # roles_helpers, roles_pyref

import pytest  # noqa: E402

from roles_helpers import Node  # noqa: E402


@pytest.fixture
def node(tmp_path):
    return Node(tmp_path)
