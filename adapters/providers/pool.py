"""One open client per provider and configuration revision, per process.

Opening a client is cheap, but its connections are not (an SMTP handshake with STARTTLS and AUTH
costs more than sending a message): the pool keeps each provider's client, with the connections
it holds, across sends and batches. The revision is the sealed configuration itself: any change
of configuration re-seals it (a fresh nonce), so a changed provider gets a new client and the
old one is closed; changes that do not touch the configuration (priority, limits, status) keep
the connections. `aclose` closes everything; the process's resources call it at stop.

Clients belong to the event loop that opened them: a process keeps one loop for its sends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from openmailer.core.ports.sending import ProviderClient
from openmailer.core.sending.model import Provider

log = logging.getLogger("openmailer.providers.pool")

ClientOpener = Callable[[Provider], Awaitable[ProviderClient]]


class ProviderClientPool:
    def __init__(self, opener: ClientOpener) -> None:
        self._open = opener
        self._clients: dict[int, tuple[str, ProviderClient]] = {}
        self._lock = asyncio.Lock()

    async def client_for(self, provider: Provider) -> ProviderClient:
        kept = self._clients.get(provider.id)
        if kept is not None and kept[0] == provider.sealed_configuration:
            return kept[1]
        async with self._lock:
            kept = self._clients.get(provider.id)
            if kept is not None and kept[0] == provider.sealed_configuration:
                return kept[1]
            client = await self._open(provider)
            self._clients[provider.id] = (provider.sealed_configuration, client)
        if kept is not None:
            await self._close(provider.id, kept[1])
        return client

    def __len__(self) -> int:
        return len(self._clients)

    async def aclose(self) -> None:
        async with self._lock:
            clients, self._clients = self._clients, {}
        for provider_id, (_, client) in clients.items():
            await self._close(provider_id, client)

    @staticmethod
    async def _close(provider_id: int, client: ProviderClient) -> None:
        try:
            await client.aclose()
        except Exception as error:  # closing is best effort: the peer may be gone already
            log.warning(
                "provider_client_close_failed",
                extra={"provider_id": provider_id, "error": type(error).__name__},
            )
