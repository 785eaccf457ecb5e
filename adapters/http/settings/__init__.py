"""`/api/v1/settings/*`: the caller's own settings (retention, so far)."""
