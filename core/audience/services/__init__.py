"""Use cases of the audience area: async functions taking their ports as keyword arguments."""
