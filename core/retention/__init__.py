"""Data retention: what each user keeps and for how long, and the jobs that age the rest."""
