"""The sending area: providers (their contract, configurations and outcomes) and the outbox."""
