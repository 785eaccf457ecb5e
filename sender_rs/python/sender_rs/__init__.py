"""OpenMailer's bulk send core, implemented in Rust."""

from sender_rs._sender_rs import __version__

__all__ = ["__version__"]
