"""One worker process sending through the provider chain exactly as a campaign worker would:
`python -m tests.integration.sending.chain_worker USER_ID COUNT WORKER START_AT`.

It builds the chain from the environment's settings (bootstrap), waits until START_AT (epoch
seconds) so that two such processes send at once, sends COUNT messages in batches of three, two
batches at a time, and prints what became of them as one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from openmailer.adapters.bootstrap import build_provider_chain, open_resources
from openmailer.core.sending.chain import NO_ROOM
from openmailer.core.sending.outcomes import OutcomeKind
from tests.integration.sending.failover_helpers import mail

BATCH = 3


async def main(user_id: int, count: int, worker: int, start_at: float) -> dict[str, int]:
    tally = {"accepted": 0, "no_room": 0, "other": 0}
    async with open_resources() as resources:
        chain = build_provider_chain(resources)
        providers = await chain.providers_of(user_id)
        numbers = [worker * 10_000 + n for n in range(count)]
        batches = [numbers[i : i + BATCH] for i in range(0, count, BATCH)]
        await asyncio.sleep(max(0.0, start_at - time.time()))

        async def send(batch: list[int]) -> None:
            results = await chain.send(providers, [mail(n) for n in batch])
            for (delivery,) in results:
                if delivery.outcome.kind is OutcomeKind.ACCEPTED:
                    tally["accepted"] += 1
                elif delivery.outcome.detail == NO_ROOM:
                    tally["no_room"] += 1
                else:
                    tally["other"] += 1

        for pair in range(0, len(batches), 2):
            await asyncio.gather(*[send(batch) for batch in batches[pair : pair + 2]])
    return tally


if __name__ == "__main__":
    user_id, count, worker, start_at = sys.argv[1:5]
    print(json.dumps(asyncio.run(main(int(user_id), int(count), int(worker), float(start_at)))))
