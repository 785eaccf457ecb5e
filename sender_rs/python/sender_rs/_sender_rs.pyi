"""Typed interface of the native module.

URLs and tokens written into messages (`base_url` without a trailing slash):

- click: ``{base_url}/t/c/{tracking_id}.{link_index}.{mac}``
- open pixel: ``{base_url}/t/o/{tracking_id}.{mac}.gif`` (inserted before ``</body>``)
- unsubscribe: ``{base_url}/u/{unsubscribe_token}`` (also ``List-Unsubscribe``, RFC 8058)
- preferences: ``{base_url}/p/{preferences_token or unsubscribe_token}``

``mac`` is base64url without padding of the first 16 bytes (128 bits) of
HMAC-SHA256(tracking_secret, ``"c\\0" tracking_id "\\0" link_index``) for clicks and
HMAC-SHA256(tracking_secret, ``"o\\0" tracking_id``) for opens; `verify_click_token` and
`verify_open_token` check them. Message-ID is ``<{tracking_id}.{campaign_id}@{from domain}>``.

A Rust panic never reaches Python as PyO3's ``PanicException`` (a ``BaseException``): every entry
point raises `InternalError` instead.
"""

from collections.abc import Mapping, Sequence
from typing import Literal, final

__version__: str

class SenderError(ValueError):
    """Base class of sender_rs errors; a ValueError: they report input that cannot be used."""

class TemplateError(SenderError):
    """A template tag is malformed or names an unknown variable (position is 1-based)."""

    message: str
    part: str
    line: int
    column: int

class HeaderError(SenderError):
    """A header input is invalid (CR, LF or NUL, a bad address, a reserved extra header...)."""

class SigningKeyError(SenderError):
    """A DKIM key cannot be parsed or is not an accepted type or size."""

class RecipientError(SenderError):
    """A recipient's custom fields cannot be used (nested deeper than 16 levels)."""

class InternalError(SenderError):
    """A bug in sender_rs: a Rust panic that some input triggered (its message is the panic's)."""

_JsonValue = str | int | float | bool | None | Mapping[str, "_JsonValue"]

@final
class TrackedLink:
    """A link the template tracks; `index` is stable for the compiled template."""

    @property
    def index(self) -> int: ...
    @property
    def url(self) -> str: ...

@final
class CompiledTemplate:
    @property
    def campaign_id(self) -> str: ...
    @property
    def links(self) -> list[TrackedLink]: ...

def compile_template(content: object, /) -> CompiledTemplate:
    """Compiles a campaign once.

    `content` is any object with the attributes of `openmailer.core.ports.rendering.CampaignContent`
    (the Rust `CampaignSpec` reads them by name; both declare the fields). A missing attribute is
    an `AttributeError`, one of the wrong type a `TypeError`.

    Variables: ``first_name``, ``last_name``, ``email``, ``custom.<path>``, ``unsubscribe_url``,
    ``preferences_url``, with an optional ``| default: "..."``. Raises `TemplateError` (with
    ``part``, ``line``, ``column``) for unknown variables or malformed tags and `HeaderError` for
    invalid header inputs. Without `text`, a text part is derived from the HTML.
    """

@final
class SigningKey:
    """A DKIM key parsed once (PKCS#8 RSA 1024-4096 bits or Ed25519, or PKCS#1 RSA PEM)."""

    @staticmethod
    def from_pem(domain: str, selector: str, pem: str) -> SigningKey: ...
    @property
    def domain(self) -> str: ...
    @property
    def selector(self) -> str: ...
    @property
    def algorithm(self) -> Literal["rsa-sha256", "ed25519-sha256"]: ...
    def dns_txt(self) -> str:
        """The TXT record for ``{selector}._domainkey.{domain}``."""

@final
class Recipient:
    """Raises `RecipientError` for custom fields nested deeper than 16 levels; an int beyond
    64 bits renders as its decimal text."""

    def __new__(
        cls,
        tracking_id: str,
        email: str,
        *,
        unsubscribe_token: str,
        first_name: str | None = None,
        last_name: str | None = None,
        custom: Mapping[str, _JsonValue] | None = None,
        preferences_token: str | None = None,
    ) -> Recipient: ...
    @property
    def tracking_id(self) -> str: ...
    @property
    def email(self) -> str: ...

@final
class RenderedMessage:
    """Signed RFC 5322 bytes (CRLF line ends, 7-bit)."""

    @property
    def tracking_id(self) -> str: ...
    @property
    def message_id(self) -> str: ...
    @property
    def subject(self) -> str:
        """The rendered Subject, as it reads before its header encoding."""
    @property
    def data(self) -> bytes: ...

@final
class RenderedParts:
    """Parts for providers that build MIME themselves.

    Header values are neither encoded nor folded: display names are quoted-strings, as in
    ``"Acme Ünited" <news@acme.example>``.
    """

    @property
    def tracking_id(self) -> str: ...
    @property
    def message_id(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def html(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def headers(self) -> list[tuple[str, str]]: ...

@final
class RenderFailure:
    """One recipient that could not be rendered; the rest of the batch is unaffected."""

    @property
    def tracking_id(self) -> str: ...
    @property
    def error(self) -> str: ...

def render_batch(
    template: CompiledTemplate,
    recipients: Sequence[Recipient],
    keys: Sequence[SigningKey] = ...,
    *,
    output: Literal["mime", "parts"] = "mime",
    profile: Literal["default", "ses"] = "default",
    timestamp: int | None = None,
    threads: int | None = None,
) -> list[RenderedMessage | RenderedParts | RenderFailure]:
    """Renders a batch with the GIL released, in parallel on `threads` (default: all cores).

    Results are in recipient order. Every key signs every message (RSA + Ed25519 = dual
    signing). ``profile="ses"`` leaves Message-ID and Date unsigned. `timestamp` (Unix seconds,
    default now) sets Date and the DKIM ``t=``. A recipient that trips a bug (a Rust panic) is a
    `RenderFailure` like any other bad recipient.
    """

def smtp_data(raw: bytes) -> bytes:
    """`raw` as the content of SMTP's DATA command: every line ended by CRLF (a bare LF or CR
    ends one too), a line starting with ``.`` given one more, and the terminating ``.`` line."""

def verify_click_token(secret: bytes, token: str) -> tuple[str, int] | None:
    """``(tracking_id, link_index)`` when the click token is authentic, else None."""

def verify_open_token(secret: bytes, token: str) -> str | None:
    """The tracking id when the open token (without ``.gif``) is authentic, else None."""

def _panic_for_tests(detach: bool) -> None:
    """Panics in Rust (GIL held, or released with `detach`): raises `InternalError`. Tests only."""
