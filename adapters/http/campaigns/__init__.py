"""`/api/v1/campaigns`."""
