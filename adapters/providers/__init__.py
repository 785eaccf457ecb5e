"""The built-in provider types (SMTP, the outbox) and the validation of configurations."""
