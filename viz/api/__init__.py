"""The HTTP API (FastAPI routers)."""
