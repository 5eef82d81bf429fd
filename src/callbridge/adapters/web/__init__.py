"""The HTTP adapter: REST API (FastAPI), health and metrics."""
