"""The plugin manager: finds plugins, checks their hooks, and fills the registries once.

`load_areas()` is called by the composition root of each process (api, worker, scheduler, CLI).
Plugins come from the `openmailer` entry-point group (the built-in areas are listed there too)
plus any passed in `extra` (tests register areas of their own this way).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pluggy

from openmailer.core.areas import AreaRegistries
from openmailer.core.registry import Registry
from openmailer.plugins import PROJECT_NAME, hookspecs


def plugin_manager(
    extra: Iterable[object] = (), *, entry_points: bool = True
) -> pluggy.PluginManager:
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    if entry_points:
        manager.load_setuptools_entrypoints(PROJECT_NAME)
    for plugin in extra:
        manager.register(plugin, name=_name_of(plugin))
    # A `@hookimpl` function whose name matches no hook (a typo) fails here, at start-up.
    manager.check_pending()
    return manager


def load_areas(extra: Iterable[object] = (), *, entry_points: bool = True) -> AreaRegistries:
    manager = plugin_manager(extra, entry_points=entry_points)
    registries = AreaRegistries()
    fill(manager, "register_http_routes", "routes", registries.http_routes)
    fill(manager, "register_cli_commands", "commands", registries.cli_commands)
    fill(manager, "register_actors", "actors", registries.actors)
    fill(manager, "register_periodic_jobs", "jobs", registries.periodic_jobs)
    fill(manager, "register_startup_steps", "steps", registries.startup_steps)
    fill(manager, "register_services", "services", registries.services)
    fill(manager, "register_segment_operators", "operators", registries.segment_operators)
    fill(manager, "register_providers", "providers", registries.providers)
    fill(manager, "register_tracking_handlers", "handlers", registries.tracking_handlers)
    return registries


def fill(manager: pluggy.PluginManager, hook: str, argument: str, registry: Registry[Any]) -> None:
    """Call each implementation of `hook` with a registrar bound to its own plugin's name, so
    every entry remembers who added it (pluggy's one-call-for-all would lose that)."""
    caller = getattr(manager.hook, hook)
    for implementation in caller.get_hookimpls():
        implementation.function(**{argument: registry.registrar(implementation.plugin_name)})


def _name_of(plugin: object) -> str:
    name = getattr(plugin, "__name__", None) or type(plugin).__name__
    return str(name)
