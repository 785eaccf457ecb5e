"""Open and click tracking: hits buffered at request time, events applied by handlers."""
