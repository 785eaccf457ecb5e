"""Field types the accounts schemas share, with the constraints the OpenAPI document states.

Constraints live here (not only in the core) so clients, and schemathesis, know what is valid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from openmailer.core.accounts.model import EMAIL_PATTERN, MAX_EMAIL_LENGTH, USERNAME_PATTERN

# The core's own patterns (core/accounts/model.py), which also bound the local part and labels.
Username = Annotated[str, msgspec.Meta(pattern=USERNAME_PATTERN, examples=["ann"])]
Email = Annotated[
    str,
    msgspec.Meta(max_length=MAX_EMAIL_LENGTH, pattern=EMAIL_PATTERN, examples=["ann@example.com"]),
]
LoginIdentifier = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._%+@-]{1,254}$")]
# At most 72 characters; over 72 bytes of UTF-8 is refused with 422 `password_too_long`.
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=72)]
NewPassword = Annotated[str, msgspec.Meta(min_length=8, max_length=72)]
TotpCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$", examples=["123456"])]
KeyName = Annotated[
    str, msgspec.Meta(pattern=r"^[^\x00-\x1f\x7f]{1,255}$", examples=["newsletter sync"])
]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
PlanName = Literal["FREE", "BASIC", "PRO", "ENTERPRISE"]
StatusName = Literal["ACTIVE", "SUSPENDED", "TRIAL", "EXPIRED"]
