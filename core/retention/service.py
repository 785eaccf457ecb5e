"""The retention area bound to its ports once: each user's choices, read and changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from openmailer.core.accounts.model import Principal
from openmailer.core.errors import ValidationError
from openmailer.core.ports.retention import RetentionRunLog, RetentionSettingsStore
from openmailer.core.retention.model import RecordedRun
from openmailer.core.retention.policy import (
    CampaignReports,
    ClickLogs,
    ContactHistory,
    RetentionSettings,
)

# The settings' fields and the choices each allows.
CHOICES: dict[str, type[StrEnum]] = {
    "campaign_reports": CampaignReports,
    "click_logs": ClickLogs,
    "contact_history": ContactHistory,
}


@dataclass(frozen=True)
class RetentionPorts:
    settings: RetentionSettingsStore
    run_log: RetentionRunLog


def parse_choices(changes: Mapping[str, str]) -> dict[str, Any]:
    """Each named choice as its enum; an unknown field or value is a 422 naming what is
    allowed (all of them at once, so one correction suffices)."""
    parsed: dict[str, Any] = {}  # field -> its enum member
    problems: list[tuple[str, str]] = []
    for name, value in changes.items():
        kind = CHOICES.get(name)
        if kind is None:
            problems.append((name, f"{name}: not a retention setting ({', '.join(CHOICES)})"))
            continue
        try:
            parsed[name] = kind(value)
        except ValueError:
            allowed = ", ".join(choice.value for choice in kind)
            shown = value if len(value) <= 40 else value[:40] + "…"
            problems.append((name, f"{name}: {shown!r} is not one of {allowed}"))
    if problems:
        detail = "; ".join(message for _, message in problems)
        raise ValidationError(detail, field=problems[0][0], code="invalid_retention_choice")
    return parsed


class RetentionService:
    def __init__(self, ports: RetentionPorts) -> None:
        self.ports = ports

    async def settings_of(self, principal: Principal) -> RetentionSettings:
        return await self.ports.settings.get(principal.user.id)

    async def choose(self, principal: Principal, changes: Mapping[str, str]) -> RetentionSettings:
        """Change the named choices (the others stay); the jobs use them from their next run."""
        parsed = parse_choices(changes)
        current = await self.ports.settings.get(principal.user.id)
        if not parsed:
            return current
        return await self.ports.settings.put(principal.user.id, replace(current, **parsed))

    async def last_runs(self) -> Mapping[str, RecordedRun]:
        """The latest recorded run of each job (an operator's view, not a user's)."""
        return await self.ports.run_log.latest()
