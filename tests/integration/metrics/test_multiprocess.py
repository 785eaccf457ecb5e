"""Multi-process mode with real processes: what separate processes counted is summed by one
scrape, a start empties what an earlier run left, and `openmailer api --workers 2` answers
`/metrics` with the requests of both its workers, whichever one a scrape reaches."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openmailer.adapters.metrics.exposure import MULTIPROC_DIR_ENV, use_fresh_directory
from openmailer.adapters.settings import Settings
from tests.integration.campaign_sending.worker_helpers import worker_env
from tests.integration.metrics.metrics_helpers import scrape, value
from tests.integration.sending.smtp_sink import free_port

pytestmark = pytest.mark.integration
FLUSHED = "openmailer_tracking_events_flushed_total"
COUNT = (
    "from openmailer.adapters.metrics.instruments import count_tracking_events_flushed; "
    "count_tracking_events_flushed({})"
)
EXPOSE = (
    "import sys; from openmailer.adapters.metrics.exposure import exposition; "
    "sys.stdout.write(exposition().decode())"
)


def _python(code: str, directory: Path) -> str:
    env = {**os.environ, MULTIPROC_DIR_ENV: str(directory)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_two_processes_counts_are_summed_and_a_fresh_start_forgets_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _python(COUNT.format(3), tmp_path)
    _python(COUNT.format(4), tmp_path)
    assert len(list(tmp_path.glob("counter_*.db"))) >= 2  # one file per process
    assert value(_python(EXPOSE, tmp_path), FLUSHED) == 7

    unrelated = tmp_path / "notes.txt"
    unrelated.write_text("kept")
    monkeypatch.delenv(MULTIPROC_DIR_ENV, raising=False)  # restored after the test
    use_fresh_directory(tmp_path)
    assert os.environ[MULTIPROC_DIR_ENV] == str(tmp_path)
    assert value(_python(EXPOSE, tmp_path), FLUSHED) == 0
    assert unrelated.read_text() == "kept"  # only sample files are removed


@pytest.fixture
def api_with_two_workers(accounts_settings: Settings, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = worker_env(accounts_settings, OPENMAILER_METRICS_DIR=str(tmp_path))
    log = tmp_path / "api.log"
    command = ["api", "--port", str(port), "--workers", "2"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "openmailer.adapters.cli", *command],
            env=env,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.2)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_api_workers_requests_are_summed_in_every_scrape(
    api_with_two_workers: str, tmp_path: Path
) -> None:
    base = api_with_two_workers
    labels = {"route": "/health", "method": "GET", "status": "200"}
    name = "openmailer_http_request_duration_seconds_count"
    before = value(scrape(f"{base}/metrics"), name, **labels)
    for _ in range(30):
        # a connection each, so that the kernel hands them to either worker
        with httpx.Client() as one_connection:
            assert one_connection.get(f"{base}/health").status_code == 200
    for _ in range(4):
        with httpx.Client() as one_connection:
            text = scrape_with(one_connection, f"{base}/metrics")
        assert value(text, name, **labels) == before + 30
    histogram_files = list((tmp_path / f"api-{base.rsplit(':', 1)[1]}").glob("histogram_*.db"))
    assert histogram_files  # the workers wrote to the directory `openmailer api` named


def scrape_with(client: httpx.Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.text


def test_the_workers_endpoint_answers_only_its_path_and_the_bearer_of_the_token(
    tmp_path: Path,
) -> None:
    port = free_port()
    token = "worker-scrape-" + "9" * 20
    _python(COUNT.format(5), tmp_path)  # a worker process's samples, already written
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OPENMAILER_")},
        MULTIPROC_DIR_ENV: str(tmp_path),
        "OPENMAILER_WORKER_METRICS_PORT": str(port),
        "OPENMAILER_METRICS_TOKEN": token,
    }
    serve = "from openmailer.adapters.metrics.worker import serve_worker_metrics as s; s()"
    server = subprocess.Popen([sys.executable, "-c", serve], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, "the endpoint stopped"
            with contextlib.suppress(httpx.TransportError):
                refused = httpx.get(f"{url}/metrics", timeout=5)
                break
            assert time.monotonic() < deadline, "the endpoint never answered"
            time.sleep(0.1)
        assert refused.status_code == 404  # loopback is not enough once a token is set
        bearer = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{url}/other", headers=bearer, timeout=5).status_code == 404
        text = scrape(f"{url}/metrics", **bearer)
        assert value(text, FLUSHED) == 5
    finally:
        server.terminate()
        server.wait(timeout=10)
