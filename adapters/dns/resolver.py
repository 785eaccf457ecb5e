"""`DnspythonResolver`: TXT lookups with dnspython's asyncio resolver, bounded by a timeout.

Nameservers come from `OPENMAILER_DNS_NAMESERVERS` (the system's resolv.conf when empty). A
lookup never raises for DNS trouble: NXDOMAIN, an empty answer, a timeout, SERVFAIL or an
unreachable server is reported in the `TxtLookup`, so each verification check says what went
wrong with its own record and the others still run. Answers are not cached: a user who has just
published a record and asks again must see it.
"""

from __future__ import annotations

import logging

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver

from openmailer.core.domains.checks import LookupProblem, TxtLookup

log = logging.getLogger(__name__)


class DnspythonResolver:
    def __init__(self, nameservers: tuple[tuple[str, int], ...], *, timeout: float) -> None:
        self._nameservers = nameservers
        self._timeout = timeout
        self._resolver: dns.asyncresolver.Resolver | None = None

    def _configured(self) -> dns.asyncresolver.Resolver:
        # Built on first use: reading resolv.conf at start-up would fail every process on a
        # machine without one, though only verification needs it.
        if self._resolver is None:
            if self._nameservers:
                resolver = dns.asyncresolver.Resolver(configure=False)
                resolver.nameservers = [
                    dns.nameserver.Do53Nameserver(address, port)
                    for address, port in self._nameservers
                ]
            else:
                resolver = dns.asyncresolver.Resolver()
            # `timeout` bounds one try at one server; `lifetime` the whole lookup, retries and
            # TCP fallback for a truncated answer included.
            resolver.timeout = self._timeout
            resolver.lifetime = self._timeout
            resolver.cache = None
            self._resolver = resolver
        return self._resolver

    async def txt(self, name: str) -> TxtLookup:
        try:
            resolver = self._configured()
            answer = await resolver.resolve(name, dns.rdatatype.TXT, search=False)
        except dns.resolver.NXDOMAIN:
            return TxtLookup(problem=LookupProblem.NXDOMAIN)
        except dns.resolver.NoAnswer:
            return TxtLookup(problem=LookupProblem.NO_RECORDS)
        except dns.exception.Timeout:
            return TxtLookup(problem=LookupProblem.TIMEOUT, detail=f"after {self._timeout:g}s")
        except dns.resolver.NoNameservers as exc:
            return TxtLookup(problem=_failure(exc))
        except (dns.exception.DNSException, OSError) as exc:
            log.warning("dns_lookup_failed", extra={"name": name, "error": repr(exc)})
            return TxtLookup(problem=LookupProblem.UNREACHABLE, detail=type(exc).__name__)
        records = tuple(
            b"".join(rdata.strings).decode("utf-8", errors="replace") for rdata in answer
        )
        return (
            TxtLookup(records=records) if records else TxtLookup(problem=LookupProblem.NO_RECORDS)
        )


def _failure(exc: dns.resolver.NoNameservers) -> LookupProblem:
    """Every server failed: SERVFAIL when one of them answered so, else unreachable (refused,
    or an error on the wire). Each error is (server, tcp, port, error, response)."""
    errors = exc.kwargs.get("errors") or []
    if any(len(error) > 3 and str(error[3]) == "SERVFAIL" for error in errors):
        return LookupProblem.SERVFAIL
    return LookupProblem.UNREACHABLE
