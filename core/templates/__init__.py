"""Templates: reusable content compiled by sender_rs, with immutable versions (issue 11)."""
