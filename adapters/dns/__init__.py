"""DNS lookups (dnspython) for domain verification."""
