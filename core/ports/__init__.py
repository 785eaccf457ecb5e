"""The ports: `typing.Protocol` interfaces the core needs and the adapters implement.

Each area has its own module, which lists its names in `__all__`; this package re-exports them
so callers (and third-party plugins) write `from openmailer.core.ports import ...`. A new area
adds one import line and one `__all__` entry below.
"""

from openmailer.core.ports import (
    accounts,
    audience,
    campaign_sending,
    campaigns,
    domains,
    imports,
    messages,
    rendering,
    segments,
    sending,
    templates,
    unit_of_work,
)
from openmailer.core.ports.accounts import *  # noqa: F403
from openmailer.core.ports.audience import *  # noqa: F403
from openmailer.core.ports.campaign_sending import *  # noqa: F403
from openmailer.core.ports.campaigns import *  # noqa: F403
from openmailer.core.ports.domains import *  # noqa: F403
from openmailer.core.ports.imports import *  # noqa: F403
from openmailer.core.ports.messages import *  # noqa: F403
from openmailer.core.ports.rendering import *  # noqa: F403
from openmailer.core.ports.segments import *  # noqa: F403
from openmailer.core.ports.sending import *  # noqa: F403
from openmailer.core.ports.templates import *  # noqa: F403
from openmailer.core.ports.unit_of_work import *  # noqa: F403

__all__ = [
    *accounts.__all__,
    *audience.__all__,
    *campaign_sending.__all__,
    *campaigns.__all__,
    *domains.__all__,
    *imports.__all__,
    *messages.__all__,
    *rendering.__all__,
    *segments.__all__,
    *sending.__all__,
    *templates.__all__,
    *unit_of_work.__all__,
]
