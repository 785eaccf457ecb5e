"""The built-in provider types (SMTP, the outbox), the validation of configurations, and the
per-process pool of open provider clients."""
