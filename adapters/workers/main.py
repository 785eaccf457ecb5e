"""Entry module for `dramatiq`: installs the broker, then declares the actors."""

from openmailer.adapters.bootstrap import configure_broker

broker = configure_broker()

from openmailer.adapters.workers import actors  # noqa: E402  (actors need the broker first)

__all__ = ["actors", "broker"]
