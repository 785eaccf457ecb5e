"""The built-in areas of the platform, each a plugin of `openmailer.plugins`.

An area is named once: as an entry point in the `openmailer` group of `pyproject.toml`. Its
module here contributes the area's routes, commands, actors, jobs and start-up steps through the
same hooks a third-party plugin implements (see docs/architecture.md).
"""
