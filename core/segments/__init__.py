"""Segments: saved conditions over a user's contacts, counted and previewed on demand."""
