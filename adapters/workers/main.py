"""Entry module for `dramatiq`: installs the broker (with the workers' metrics middleware),
then declares every area's actors."""

from openmailer.adapters.bootstrap import builtin_areas, configure_broker
from openmailer.adapters.metrics.worker import WorkerMetrics
from openmailer.adapters.workers.actors import declare_actors

broker = configure_broker()
broker.add_middleware(WorkerMetrics())
actors = declare_actors(builtin_areas().actors, broker)

__all__ = ["actors", "broker"]
