"""The plugin contract of OpenMailer.

A plugin is a module (or object) with functions marked `@hookimpl`, named after the hooks in
`openmailer.plugins.hookspecs`, and announced by an entry point in the `openmailer` group::

    # pyproject.toml of the plugin's package
    [project.entry-points.openmailer]
    my_plugin = "my_package.plugin"

    # my_package/plugin.py
    from openmailer.plugins import hookimpl

    @hookimpl
    def register_periodic_jobs(jobs):
        jobs.add("my-nightly-report", PeriodicJob(actor="my_report", interval_seconds=86_400))

Hooks run once, at start-up, and fill registries defined in `openmailer.core`; nothing calls a
hook at request or send time. A registry refuses a key that is already taken, naming both
plugins. A function marked `@hookimpl` whose name is not a hook fails start-up.
The built-in areas (`openmailer.adapters.areas.*`) are plugins registered exactly this way.
"""

import pluggy

PROJECT_NAME = "openmailer"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "hookimpl"]
