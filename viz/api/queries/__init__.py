"""Data access of the API: SQL in, our models out (row factories, one shape per model)."""
