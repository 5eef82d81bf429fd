"""Callbridge: an open-source contact center with the CRM built in and connected."""

__version__ = "0.1.0"
