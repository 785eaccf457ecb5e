"""SMTP throughput: signed messages through the SMTP plugin to Postfix's smtp-sink on loopback.

    python -m benchmarks.smtp_throughput [--json] [--quick] [--pool N]

Renders and signs 20,000 messages (2,000 with --quick) with sender_rs (RSA-2048, the send-core
workload's ~20 KB HTML) before timing, then times the SMTP plugin's client (its pool of kept
connections, batches of 100 per `send_batch` as the campaign worker hands them) delivering all of
them to `smtp-sink`. Postfix's `smtp-source` sends the same number of the same message (`-F`, one
of the rendered messages) over as many kept connections (`-d`, `-s` = pool size) to a sink of its
own: that C load generator is the plugin's ceiling. It runs before and after the plugin and its
mean is the reference, so drifting load from other processes hits both. With 2+ cores this
process and smtp-source run on core 0, the sinks on core 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

import sender_rs
from benchmarks.workload import DOMAIN, campaign_content, rsa_pem
from benchmarks.workload import recipients_data as workload_recipients
from openmailer.adapters.providers.smtp import SmtpConfiguration, SmtpProviderClient
from openmailer.core.sending.contract import OutgoingMessage
from openmailer.core.sending.outcomes import OutcomeKind
from tests.integration.sending.postfix_sink import PostfixSink

MESSAGES, QUICK_MESSAGES = 20_000, 2_000
BATCH = 100
POOL = 4
RENDER_CHUNK = 1_000
TARGET_RATIO = 0.70
SENDER = f"bounces@{DOMAIN}"


def render_messages(count: int) -> list[OutgoingMessage]:
    template = sender_rs.compile_template(campaign_content())
    keys = [sender_rs.SigningKey.from_pem(DOMAIN, "rsa", rsa_pem())]
    people = [
        sender_rs.Recipient(
            str(r["tracking_id"]),
            str(r["email"]),
            unsubscribe_token=str(r["unsubscribe_token"]),
            first_name=str(r["first_name"]),
            custom=r["custom"],  # type: ignore[arg-type]
        )
        for r in workload_recipients(count)
    ]
    messages: list[OutgoingMessage] = []
    for start in range(0, count, RENDER_CHUNK):
        chunk = people[start : start + RENDER_CHUNK]
        for person, out in zip(chunk, sender_rs.render_batch(template, chunk, keys), strict=True):
            assert isinstance(out, sender_rs.RenderedMessage), out
            messages.append(
                OutgoingMessage(
                    message_id=out.message_id,
                    sender=SENDER,
                    recipients=(person.email,),
                    subject="Your weekly deals",
                    raw=out.data,
                )
            )
    return messages


async def plugin_run(messages: list[OutgoingMessage], port: int, pool: int) -> tuple[float, int]:
    """(seconds, accepted) for every message in batches of BATCH, the pool opened on demand."""
    client = SmtpProviderClient(
        SmtpConfiguration(host="127.0.0.1", port=port, use_tls=False, pool_size=pool)
    )
    accepted = 0
    start = time.perf_counter()
    try:
        for first in range(0, len(messages), BATCH):
            outcomes = await client.send_batch(messages[first : first + BATCH])
            accepted += sum(o.kind is OutcomeKind.ACCEPTED for o in outcomes)
        elapsed = time.perf_counter() - start
    finally:
        await client.aclose()
    return elapsed, accepted


def smtp_source_run(
    message_file: Path, count: int, sessions: int, cpu: int | None
) -> tuple[float, float]:
    """(messages per second, CPU seconds per message) of `smtp-source` sending `message_file`
    `count` times."""
    sink = PostfixSink(cpu=None if cpu is None else 1 - cpu)
    try:
        command = ["smtp-source", "-d", "-s", str(sessions), "-m", str(count)]
        command += ["-F", str(message_file), "-f", SENDER, "-t", "user0@example.com"]
        start = time.perf_counter()
        process = subprocess.Popen([*command, f"127.0.0.1:{sink.port}"])
        if cpu is not None:
            os.sched_setaffinity(process.pid, {cpu})
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"smtp-source failed with exit code {process.returncode}")
    finally:
        counters = sink.stop()
        sink.cleanup()
    if counters.messages != count:
        raise RuntimeError(f"smtp-sink received {counters.messages} of {count} (smtp-source)")
    return count / elapsed, (usage.ru_utime + usage.ru_stime) / count


def measure(quick: bool, pool: int, *, pin: bool, loop: str) -> dict[str, Any]:
    count = QUICK_MESSAGES if quick else MESSAGES
    started = time.perf_counter()
    messages = render_messages(count)
    render_seconds = time.perf_counter() - started
    sizes = [len(m.raw or b"") for m in messages]
    # From here on, one core for the senders and one for the sinks, where there are two.
    cpu = 0 if pin and (os.cpu_count() or 1) >= 2 else None
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    with tempfile.TemporaryDirectory() as folder:
        # The median-sized message, so smtp-source's bytes per message match the plugin's.
        typical = sorted(messages, key=lambda m: len(m.raw or b""))[len(messages) // 2]
        message_file = Path(folder) / "message.eml"
        message_file.write_bytes(typical.raw or b"")
        source_before, source_cpu_before = smtp_source_run(message_file, count, pool, cpu)
        sink = PostfixSink(cpu=None if cpu is None else 1 - cpu)
        try:
            run = plugin_run(messages, sink.port, pool)
            cpu_start = time.process_time()
            seconds, accepted = uvloop.run(run) if loop == "uvloop" else asyncio.run(run)
            plugin_cpu = (time.process_time() - cpu_start) / count
        finally:
            counters = sink.stop()
            sink.cleanup()
        source_after, source_cpu_after = smtp_source_run(message_file, count, pool, cpu)
    if accepted != count or counters.messages != count:
        raise RuntimeError(f"{accepted} accepted, {counters.messages} received of {count}")
    plugin = count / seconds
    source = (source_before + source_after) / 2
    return {
        "messages": count,
        "message_bytes": round(sum(sizes) / len(sizes)),
        "pool_size": pool,
        "batch_size": BATCH,
        "render_seconds": round(render_seconds, 2),
        "plugin_messages_per_s": round(plugin, 1),
        "plugin_connections": counters.sessions,
        "smtp_source_messages_per_s": round(source, 1),
        "smtp_source_runs": [round(source_before, 1), round(source_after, 1)],
        # CPU time per message does not depend on what else the machine runs.
        "plugin_cpu_us_per_message": round(plugin_cpu * 1e6, 1),
        "smtp_source_cpu_us_per_message": round(
            (source_cpu_before + source_cpu_after) / 2 * 1e6, 1
        ),
        "ratio_to_smtp_source": round(plugin / source, 3),
        "target_ratio": TARGET_RATIO,
        "target_met": plugin / source >= TARGET_RATIO,
        "pinned": cpu is not None,
        "event_loop": loop,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "quick": quick,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_MESSAGES:,} messages")
    parser.add_argument("--pool", type=int, default=POOL, help="connections (smtp-source -s)")
    parser.add_argument("--no-pin", action="store_true", help="let the scheduler place processes")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()
    r = measure(args.quick, args.pool, pin=not args.no_pin, loop=args.loop)
    if args.json:
        print(json.dumps(r))
        return
    print(
        f"SMTP plugin to smtp-sink, {r['messages']:,} messages of {r['message_bytes']:,} bytes "
        f"(RSA-2048 signed, rendered in {r['render_seconds']:.1f} s before timing)"
    )
    print(
        f"  plugin      {r['plugin_messages_per_s']:>9,.0f} msg/s  ({r['pool_size']} connections"
        f" kept, {r['plugin_connections']} opened; batches of {r['batch_size']})"
    )
    print(
        f"  smtp-source {r['smtp_source_messages_per_s']:>9,.0f} msg/s  ({r['pool_size']} sessions;"
        f" runs before/after: {r['smtp_source_runs'][0]:,.0f} / {r['smtp_source_runs'][1]:,.0f})"
    )
    print(
        f"  CPU per message: plugin {r['plugin_cpu_us_per_message']:,.0f} µs, smtp-source "
        f"{r['smtp_source_cpu_us_per_message']:,.0f} µs (load average {r['load_average'][0]:.1f})"
    )
    verdict = "met " if r["target_met"] else "MISS"
    print(
        f"  {verdict} ratio {r['ratio_to_smtp_source']:.0%} of smtp-source "
        f"(target >= {TARGET_RATIO:.0%})"
    )


if __name__ == "__main__":
    main()
