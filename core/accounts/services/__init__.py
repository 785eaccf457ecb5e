"""Use cases of the accounts area: async functions that take the ports as keyword arguments."""
