"""The campaigns area's use cases."""
