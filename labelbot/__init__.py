"""Labelbot: a Discord bot for the community servers of independent record labels."""

__version__ = "0.1.0"
