"""Benchmarks (not timed tests): run them as modules, e.g. `python -m benchmarks.send_core`."""
