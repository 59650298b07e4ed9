"""Pydantic models of the API: Create, Update (partial) and Read per resource."""
