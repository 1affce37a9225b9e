"""Understudy: an AI understudy for every person in an organization."""

__version__ = "0.1.0"

__all__ = ["__version__"]
