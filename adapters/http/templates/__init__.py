"""`/api/v1/templates`: the caller's templates, their versions and previews."""
