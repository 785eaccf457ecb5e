"""HTTP of the messages area: `/api/v1/messages` and `/api/v1/email-logs`."""
