"""`/api/v1/imports`: CSV uploads of contacts and their jobs."""
