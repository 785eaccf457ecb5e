"""Accounts and access: users, sessions, two-factor, API keys, scopes, plans and rate limits.

Policies here are pure (standard library only); the use cases live in `services/` and reach the
outside world only through the ports in `openmailer.core.ports.accounts`.
"""
