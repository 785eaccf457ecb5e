"""`POST /webhooks/{token}`: provider events."""
