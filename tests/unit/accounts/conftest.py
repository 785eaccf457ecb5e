"""A fresh set of accounts fakes for every test."""

import pytest

from tests.unit.accounts.accounts_scenario import Accounts


@pytest.fixture
def accounts() -> Accounts:
    return Accounts()
