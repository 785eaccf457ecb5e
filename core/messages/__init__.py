"""Transactional messages: one message sent through the API, recorded in email_logs."""
