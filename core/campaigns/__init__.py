"""Campaigns: their settings, lifecycle, preflight and recipient materialisation."""
