"""Cryptography adapters: the secret box (AES-256-GCM) and password hashing (bcrypt)."""
