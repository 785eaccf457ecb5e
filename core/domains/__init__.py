"""Sending domains: DKIM keys, the DNS records to publish, and their verification."""
