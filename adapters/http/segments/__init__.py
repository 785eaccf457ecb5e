"""HTTP controllers of the segments area."""
