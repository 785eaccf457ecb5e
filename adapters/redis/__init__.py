"""Redis adapters: sessions, rate limits, TOTP replay guard, buffered API key usage.

Every key lives under the `om:` prefix; all state here is shared by every API process.
"""
