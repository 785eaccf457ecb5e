"""Prometheus metrics (docs/operations.md): what each process counts, what a scrape reads live
from Redis and PostgreSQL, and how the samples of many processes reach one scrape.

Only adapters import this package: core reports through ports (`DeliveryObserver`).
"""
