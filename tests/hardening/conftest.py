import pytest

from tests.hardening.matrix import build_matrix


@pytest.fixture
def matrix(world, accounts):
    """The access-control matrix's world and callers (tests/hardening/matrix.py)."""
    return build_matrix(world, accounts)
