"""The segments area's use cases: async functions taking their ports as keyword arguments."""
