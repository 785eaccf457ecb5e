"""The collector's youngest generation while imports run: raised by the first, restored by the
last, whatever happens inside."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from openmailer.core.imports.collector import RUN_THRESHOLD, fewer_collections

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def default_thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_a_run_raises_the_youngest_threshold_and_restores_it() -> None:
    with fewer_collections():
        assert gc.get_threshold() == (RUN_THRESHOLD, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_a_run_that_fails_restores_it_too() -> None:
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("the run failed")
    assert gc.get_threshold() == (700, 10, 10)


def test_overlapping_runs_keep_it_raised_until_the_last_one_ends() -> None:
    first_inside, second_done, thresholds = threading.Event(), threading.Event(), []

    def second_run() -> None:
        first_inside.wait()
        with fewer_collections():
            thresholds.append(gc.get_threshold()[0])
        second_done.set()

    other = threading.Thread(target=second_run)
    other.start()
    with fewer_collections():
        first_inside.set()
        second_done.wait()
        thresholds.append(gc.get_threshold()[0])  # the second run ended: still raised
    other.join()
    assert thresholds == [RUN_THRESHOLD, RUN_THRESHOLD]
    assert gc.get_threshold() == (700, 10, 10)


def test_a_collector_tuned_higher_or_turned_off_is_left_as_it_is() -> None:
    for tuned in ((100_000, 10, 10), (0, 10, 10)):
        gc.set_threshold(*tuned)
        with fewer_collections():
            assert gc.get_threshold() == tuned
        assert gc.get_threshold() == tuned
