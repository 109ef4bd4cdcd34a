"""Routers of the web app: `api` (JSON, in the OpenAPI schema) and `pages` (HTML)."""
