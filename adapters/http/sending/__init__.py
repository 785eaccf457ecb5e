"""HTTP of the sending area: providers and the outbox."""
