"""The retention jobs on PostgreSQL (the spec's "Data Retention Policies"), one module per
concern, all in bounded batches (`batches.py`); `jobs.py` lists them."""
