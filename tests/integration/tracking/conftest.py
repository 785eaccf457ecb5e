"""The end-to-end tracking test stands on the campaigns tests' tenants (`world`)."""

from tests.integration.campaigns.conftest import world

__all__ = ["world"]
