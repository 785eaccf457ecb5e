"""The templates area's use cases."""
