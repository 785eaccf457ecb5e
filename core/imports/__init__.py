"""CSV imports of contacts into a list: jobs, their rows and the rules that judge them."""
