"""Load for `benchmarks/tracking.py`: one locust user type, the target chosen by environment.

TRACKING_TARGET: `pixel` or `click` (the real app's routes) or `bare` (the bare handler);
TRACKING_PATHS: a JSON file {"pixel": [paths], "click": [paths]} of authentic tracking URLs.
Each request comes from a random client address (X-Forwarded-For, the API trusting loopback as
its proxy), as a campaign's readers do; redirects are not followed (their targets are not ours).
"""

from __future__ import annotations

import json
import os
import random

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

TARGET = os.environ.get("TRACKING_TARGET", "pixel")
with open(os.environ["TRACKING_PATHS"]) as paths_file:
    PATHS: dict[str, list[str]] = json.load(paths_file)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
EXPECTED = 302 if TARGET == "click" else 200
POOL = PATHS["click" if TARGET == "click" else "pixel"]


class Reader(FastHttpUser):
    wait_time = constant(0)

    @task
    def fetch(self) -> None:
        headers = {
            "User-Agent": BROWSER,
            "X-Forwarded-For": ".".join(
                ("10", str(random.randrange(256)), str(random.randrange(256)), "7")
            ),
        }
        with self.client.get(
            random.choice(POOL),
            name=TARGET,
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code == EXPECTED:
                response.success()
            else:
                response.failure(f"status {response.status_code}")
