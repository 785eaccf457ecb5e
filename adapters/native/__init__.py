"""Adapters backed by native (Rust) extensions."""
