"""Entry module for `dramatiq`: installs the broker, then declares every area's actors."""

from openmailer.adapters.bootstrap import builtin_areas, configure_broker
from openmailer.adapters.workers.actors import declare_actors

broker = configure_broker()
actors = declare_actors(builtin_areas().actors, broker)

__all__ = ["actors", "broker"]
