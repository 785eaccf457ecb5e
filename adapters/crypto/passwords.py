"""bcrypt password hashing, off the event loop (each hash or check costs tens of milliseconds)."""

from __future__ import annotations

import asyncio

import bcrypt

from openmailer.core.accounts.model import MAX_PASSWORD_BYTES

DEFAULT_ROUNDS = 12


class BcryptPasswordHasher:
    def __init__(self, rounds: int = DEFAULT_ROUNDS) -> None:
        self._rounds = rounds
        # Checked against when there is no user, so unknown names cost as much as wrong passwords.
        self._decoy = bcrypt.hashpw(b"decoy password", bcrypt.gensalt(rounds)).decode()

    async def hash(self, password: str) -> str:
        secret = _encode(password)
        hashed = await asyncio.to_thread(bcrypt.hashpw, secret, bcrypt.gensalt(self._rounds))
        return hashed.decode()

    async def verify(self, password: str, password_hash: str | None) -> bool:
        secret = _encode(password)
        target = (password_hash or self._decoy).encode()
        try:
            matches = await asyncio.to_thread(bcrypt.checkpw, secret, target)
        except ValueError:  # a malformed stored hash is a mismatch, not a crash
            return False
        return matches and password_hash is not None


def _encode(password: str) -> bytes:
    secret = password.encode()
    if len(secret) > MAX_PASSWORD_BYTES:
        raise ValueError("passwords over 72 bytes must be rejected before hashing")
    return secret
