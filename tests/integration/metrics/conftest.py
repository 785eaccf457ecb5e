"""The metrics tests stand on the campaigns tests' tenants (`world`)."""

from tests.integration.campaigns.conftest import world

__all__ = ["world"]
