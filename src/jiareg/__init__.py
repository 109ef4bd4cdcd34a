"""jiareg: registry and outcome-study engine for juvenile idiopathic arthritis on biologics."""

__version__ = "0.1.0"
__all__ = ["__version__"]
