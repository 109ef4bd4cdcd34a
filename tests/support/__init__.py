"""Helpers shared by unit and integration tests (no test file imports another)."""
