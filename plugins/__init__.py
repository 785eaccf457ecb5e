"""The plugin contract (pluggy). Providers, segment operators and tracking handlers are plugins.

The hook specifications arrive with the first capabilities that need them (sending providers).
"""
