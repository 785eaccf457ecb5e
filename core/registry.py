"""Registries that plugins fill once at start-up and the rest of the code reads.

Each entry remembers the plugin that added it, so a clash names both plugins and an operator can
see where a provider or an operator came from. Nothing is ever replaced: a second registration
of a key is an error at start-up, not a silent override at send time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


class DuplicateRegistration(Exception):
    """Two plugins (or one, twice) registered the same key in one registry."""


@dataclass(frozen=True, slots=True)
class Entry(Generic[V]):
    key: str
    value: V
    plugin: str


class Registry(Generic[V]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[V]] = {}

    def add(self, key: str, value: V, *, plugin: str) -> None:
        if not key or not isinstance(key, str):
            raise ValueError(f"{self.kind}: a key must be a non-empty string, got {key!r}")
        existing = self._entries.get(key)
        if existing is not None:
            raise DuplicateRegistration(
                f"{self.kind} {key!r} is registered by {existing.plugin!r} and again by {plugin!r}"
            )
        self._entries[key] = Entry(key, value, plugin)

    def registrar(self, plugin: str) -> Registrar[V]:
        """The view a hook implementation receives: it adds under its own plugin's name."""
        return Registrar(self, plugin)

    def __getitem__(self, key: str) -> V:
        try:
            return self._entries[key].value
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise KeyError(f"no {self.kind} {key!r} is registered (known: {known})") from None

    def get(self, key: str) -> V | None:
        entry = self._entries.get(key)
        return None if entry is None else entry.value

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def values(self) -> list[V]:
        return [entry.value for entry in self._entries.values()]

    def entries(self) -> list[Entry[V]]:
        return list(self._entries.values())

    def plugin_of(self, key: str) -> str:
        return self._entries[key].plugin


class Registrar(Generic[V]):
    """`registry.add(key, value)` for one plugin; what a hook implementation is given."""

    def __init__(self, registry: Registry[V], plugin: str) -> None:
        self._registry = registry
        self.plugin = plugin

    def add(self, key: str, value: V) -> None:
        self._registry.add(key, value, plugin=self.plugin)
