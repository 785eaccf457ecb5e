"""Registries and the plugin manager: duplicates refused, owners remembered, typos fatal."""

from __future__ import annotations

import types

import pluggy
import pytest

from openmailer.core.areas import CliCommand, PeriodicJob
from openmailer.core.registry import DuplicateRegistration, Registry
from openmailer.plugins import hookimpl
from openmailer.plugins.manager import load_areas

pytestmark = pytest.mark.unit


def plugin(name: str, **hooks: object) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))  # type: ignore[call-overload]
    return module


def test_a_registry_remembers_who_registered_each_key_and_refuses_a_second() -> None:
    registry: Registry[int] = Registry("operator")
    registry.registrar("first_plugin").add("equals", 1)
    with pytest.raises(DuplicateRegistration, match="'first_plugin' and again by 'second'"):
        registry.registrar("second").add("equals", 2)
    assert registry["equals"] == 1
    assert registry.plugin_of("equals") == "first_plugin"
    with pytest.raises(KeyError, match="no operator 'contains' is registered"):
        registry["contains"]


def test_two_plugins_registering_one_job_fail_at_start_up() -> None:
    def jobs_hook(jobs: object) -> None:
        jobs.add("nightly", PeriodicJob("report", 86_400))  # type: ignore[attr-defined]

    with pytest.raises(
        DuplicateRegistration, match=r"'nightly' is registered by 'one' and again by 'two'"
    ):
        load_areas(
            extra=[
                plugin("one", register_periodic_jobs=jobs_hook),
                plugin("two", register_periodic_jobs=jobs_hook),
            ],
            entry_points=False,
        )


def test_a_misspelled_hook_fails_at_start_up() -> None:
    typo = plugin("typo", register_periodic_job=lambda jobs: None)
    with pytest.raises(pluggy.PluginValidationError, match="register_periodic_job"):
        load_areas(extra=[typo], entry_points=False)


def test_a_hook_with_a_wrong_argument_name_fails_at_start_up() -> None:
    wrong = plugin("wrong", register_cli_commands=lambda registry: None)
    with pytest.raises(pluggy.PluginValidationError):
        load_areas(extra=[wrong], entry_points=False)


def test_the_built_in_areas_register_through_their_entry_points() -> None:
    areas = load_areas()
    assert areas.http_routes.plugin_of("accounts") == "accounts"
    assert areas.http_routes.plugin_of("health") == "platform"
    assert areas.cli_commands.plugin_of("users") == "accounts"
    assert {"up", "migrate", "api", "worker", "scheduler", "version", "users", "keys"} <= set(
        areas.cli_commands
    )
    assert set(areas.actors) >= {"heartbeat", "flush_usage"}
    assert areas.startup_steps.plugin_of("first-admin") == "accounts"


def test_registration_order_is_plugin_order() -> None:
    seen: list[str] = []

    def commands_of(name: str) -> object:
        def hook(commands: object) -> None:
            seen.append(name)
            commands.add(name, CliCommand(lambda subparsers: None))  # type: ignore[attr-defined]

        return hook

    areas = load_areas(
        extra=[plugin(n, register_cli_commands=commands_of(n)) for n in ("a", "b", "c")],
        entry_points=False,
    )
    assert seen == ["a", "b", "c"]
    assert list(areas.cli_commands) == ["a", "b", "c"]
