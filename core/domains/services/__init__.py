"""Use cases of the domains area: async functions taking ports as keyword arguments."""
