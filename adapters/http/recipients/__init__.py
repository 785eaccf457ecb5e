"""The recipient pages (server-rendered HTML at the root) and the form snippet API."""
