"""The API's routers, one module per resource; each holds only HTTP, no SQL."""
