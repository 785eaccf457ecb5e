"""HTTP controllers of the domains area."""
