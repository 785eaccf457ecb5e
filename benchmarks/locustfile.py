"""The traffic a deployment sees, for locust: API clients, recipients and providers.

    LOAD_TARGETS=targets.json locust -f benchmarks/locustfile.py --host http://127.0.0.1:8025

`python -m benchmarks.load` runs it headless and bounded; docs/load-testing.md tells how to run
it safely. The targets file (benchmarks/load_requests.py) names the keys, ids, URLs and signing
keys; a class whose section is missing is off. Knobs, all optional:

- `LOAD_WEIGHT_API`, `LOAD_WEIGHT_RECIPIENT`, `LOAD_WEIGHT_PROVIDER`: the classes' weights
  (default 3, 5, 2; 0 turns a class off). Locust's own class names on its command line and
  `--tags api|messages|recipients|providers` / `--exclude-tags` choose too.
- `LOAD_USER_RPS`: requests per second each simulated user makes at most (default 1), so the
  offered rate is users times LOAD_USER_RPS whatever the server does.

Every request but the API clients' comes from its own 10/8 address (X-Forwarded-For): the
public routes' per-address limits stop floods from one address, and a campaign's readers and a
provider's servers are many. The API clients count against their user's plan quota (per minute,
per user, whatever the key): keep API users times LOAD_USER_RPS under it (ENTERPRISE: 100/s).
Contacts the suite creates are deleted again (about two in three by the users as they go, the
rest when the run stops).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

# locust puts this file's folder on the path, not the repository's, which holds the builders.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from locust import constant_throughput, events, tag, task  # noqa: E402
from locust.contrib.fasthttp import FastHttpUser  # noqa: E402

from benchmarks.load_requests import (  # noqa: E402
    BROWSER,
    FORM,
    ONE_CLICK_BODY,
    Targets,
    class_weight,
    forwarded_for,
    load_targets,
    new_contact,
    sendgrid_post,
    ses_notification,
    transactional_message,
)

TARGETS = (
    load_targets(Path(os.environ["LOAD_TARGETS"])) if "LOAD_TARGETS" in os.environ else Targets()
)
USER_RPS = float(os.environ.get("LOAD_USER_RPS", "1"))
CLEANUP_SECONDS = 120
# Contacts made by the API users and not yet deleted: the run's end deletes what is left.
CREATED_CONTACTS: list[int] = []


class _Checked(FastHttpUser):
    abstract = True
    wait_time = constant_throughput(USER_RPS)

    def call(
        self,
        method: str,
        path: str,
        name: str,
        expected: int,
        **kwargs: Any,
    ) -> Any:
        """One request, a failure unless it answers `expected` (locust counts 2xx/3xx as
        success by itself; a redirect or a 201 that should have been something else is not)."""
        with self.client.request(
            method, path, name=name, catch_response=True, allow_redirects=False, **kwargs
        ) as response:
            if response.status_code == expected:
                response.success()
            else:
                response.failure(f"status {response.status_code}: {(response.text or '')[:200]}")
            return response


class ApiClient(_Checked):
    """An integration of the tenant's: contacts written and read, lists, segment counts, and
    transactional sends with an om_test_ key (kept in the outbox: nothing is sent)."""

    weight = class_weight("API")
    abstract = weight == 0 or (TARGETS.api is None and TARGETS.messages is None)

    def on_start(self) -> None:
        self.address = forwarded_for(random.Random())

    def _headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}", "X-Forwarded-For": self.address}

    @tag("api")
    @task(3)
    def contacts_create(self) -> None:
        if TARGETS.api is None:
            return
        response = self.call(
            "POST",
            "/api/v1/contacts",
            "contacts_create",
            201,
            json=new_contact(TARGETS.api),
            headers=self._headers(TARGETS.api.key),
        )
        if response.status_code == 201:
            CREATED_CONTACTS.append(int(response.json()["id"]))

    @tag("api")
    @task(2)
    def contacts_delete(self) -> None:
        if TARGETS.api is None or not CREATED_CONTACTS:
            return
        contact_id = CREATED_CONTACTS.pop(random.randrange(len(CREATED_CONTACTS)))
        self.call(
            "DELETE",
            f"/api/v1/contacts/{contact_id}",
            "contacts_delete",
            204,
            headers=self._headers(TARGETS.api.key),
        )

    @tag("api")
    @task(4)
    def contacts_list(self) -> None:
        if TARGETS.api is None:
            return
        self.call(
            "GET",
            "/api/v1/contacts?limit=50",
            "contacts_list",
            200,
            headers=self._headers(TARGETS.api.key),
        )

    @tag("api")
    @task(2)
    def list_read(self) -> None:
        if TARGETS.api is None:
            return
        self.call(
            "GET",
            f"/api/v1/lists/{TARGETS.api.list_id}",
            "list_read",
            200,
            headers=self._headers(TARGETS.api.key),
        )

    @tag("api")
    @task(1)
    def segment_count(self) -> None:
        if TARGETS.api is None:
            return
        self.call(
            "GET",
            f"/api/v1/segments/{TARGETS.api.segment_id}/count",
            "segment_count",
            200,
            headers=self._headers(TARGETS.api.key),
        )

    @tag("messages")
    @task(2)
    def messages_send(self) -> None:
        if TARGETS.messages is None:
            return
        self.call(
            "POST",
            "/api/v1/messages",
            "messages_send",
            201,
            json=transactional_message(TARGETS.messages),
            headers=self._headers(TARGETS.messages.test_key),
        )


class Recipient(_Checked):
    """A campaign's reader: opens (pixel), clicks (302, not followed: the target is not ours),
    the unsubscribe page, and the RFC 8058 one-click POST a mailbox provider makes."""

    weight = class_weight("RECIPIENT")
    abstract = weight == 0 or TARGETS.recipients is None

    def on_start(self) -> None:
        self.rng = random.Random()

    def _headers(self) -> dict[str, str]:
        return {"User-Agent": BROWSER, "X-Forwarded-For": forwarded_for(self.rng)}

    @tag("recipients")
    @task(10)
    def pixel(self) -> None:
        assert TARGETS.recipients is not None
        path = self.rng.choice(TARGETS.recipients.pixel)
        self.call("GET", path, "pixel", 200, headers=self._headers())

    @tag("recipients")
    @task(4)
    def click(self) -> None:
        assert TARGETS.recipients is not None
        path = self.rng.choice(TARGETS.recipients.click)
        self.call("GET", path, "click", 302, headers=self._headers())

    @tag("recipients")
    @task(1)
    def unsubscribe_page(self) -> None:
        assert TARGETS.recipients is not None
        path = self.rng.choice(TARGETS.recipients.unsubscribe)
        self.call("GET", path, "unsubscribe_page", 200, headers=self._headers())

    @tag("recipients")
    @task(1)
    def one_click(self) -> None:
        assert TARGETS.recipients is not None
        path = self.rng.choice(TARGETS.recipients.unsubscribe)
        headers = self._headers() | {"Content-Type": FORM}
        self.call("POST", path, "one_click", 200, data=ONE_CLICK_BODY, headers=headers)


class Provider(_Checked):
    """SES (through SNS) and SendGrid reporting deliveries: signed posts to the webhooks."""

    weight = class_weight("PROVIDER")
    abstract = weight == 0 or (TARGETS.ses is None and TARGETS.sendgrid is None)

    def on_start(self) -> None:
        self.rng = random.Random()

    @tag("providers")
    @task
    def ses_notification(self) -> None:
        if TARGETS.ses is None:
            return
        body = ses_notification(TARGETS.ses, self.rng.choice(TARGETS.ses.deliveries))
        headers = {
            "Content-Type": "text/plain; charset=UTF-8",  # what SNS sends
            "x-amz-sns-message-type": "Notification",
            "X-Forwarded-For": forwarded_for(self.rng),
        }
        self.call(
            "POST", TARGETS.ses.webhook_path, "ses_notification", 200, data=body, headers=headers
        )

    @tag("providers")
    @task
    def sendgrid_events(self) -> None:
        if TARGETS.sendgrid is None:
            return
        body, headers = sendgrid_post(TARGETS.sendgrid, self.rng)
        headers["X-Forwarded-For"] = forwarded_for(self.rng)
        self.call(
            "POST",
            TARGETS.sendgrid.webhook_path,
            "sendgrid_events",
            200,
            data=body,
            headers=headers,
        )


@events.test_stop.add_listener
def delete_created_contacts(environment: Any, **_: Any) -> None:
    """The contacts still standing are deleted, outside locust's figures; a 429 (the user's
    quota spent by the run) waits as told."""
    if TARGETS.api is None or not CREATED_CONTACTS or environment.host is None:
        return
    deadline = time.monotonic() + CLEANUP_SECONDS
    while CREATED_CONTACTS and time.monotonic() < deadline:
        contact_id = CREATED_CONTACTS[-1]
        request = urllib.request.Request(
            f"{environment.host.rstrip('/')}/api/v1/contacts/{contact_id}",
            method="DELETE",
            headers={"Authorization": f"Bearer {TARGETS.api.key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10):
                pass
        except urllib.error.HTTPError as error:
            if error.code == 429:
                time.sleep(float(error.headers.get("Retry-After") or 1))
                continue
            if error.code != 404:
                print(f"load: contact {contact_id} not deleted: {error.code}", file=sys.stderr)
        except OSError as error:  # the host is gone: what is left is listed below
            print(f"load: deleting contacts stopped: {error}", file=sys.stderr)
            break
        CREATED_CONTACTS.pop()
    if CREATED_CONTACTS:
        print("load: contacts left undeleted: " + json.dumps(CREATED_CONTACTS), file=sys.stderr)
