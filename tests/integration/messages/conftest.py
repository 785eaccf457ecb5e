"""The messages tests reuse the domains tests' DNS server: a domain is verified for real."""

from tests.integration.domains.conftest import domains, zone, zone_and_port  # noqa: F401
