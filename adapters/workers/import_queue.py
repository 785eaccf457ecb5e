"""`DramatiqImportQueue`: hands an import job to a worker through the Redis broker (the
`run_import` message the workers declared, sent by `BrokerMessages`)."""

from __future__ import annotations

from openmailer.adapters.workers.broker_messages import BrokerMessages

RUN_IMPORT_ACTOR = "run_import"
IMPORTS_QUEUE = "imports"


class DramatiqImportQueue:
    def __init__(self, redis_url: str) -> None:
        self._messages = BrokerMessages(redis_url, queue=IMPORTS_QUEUE, actor=RUN_IMPORT_ACTOR)

    def enqueue(self, job_id: int) -> None:
        self._messages.send(job_id)


class NoQueue:
    """For a process that runs the job itself (`openmailer import`)."""

    def enqueue(self, job_id: int) -> None:
        return None
