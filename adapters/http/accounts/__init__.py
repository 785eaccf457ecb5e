"""The accounts area's HTTP controllers, one module per resource with its own schemas."""
