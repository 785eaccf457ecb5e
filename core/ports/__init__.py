"""The ports: `typing.Protocol` interfaces the core needs and the adapters implement.

Each area has its own module; this package re-exports them so callers (and third-party plugins)
write `from openmailer.core.ports import ...`.
"""
