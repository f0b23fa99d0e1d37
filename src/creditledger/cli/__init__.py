"""The ``creditledger`` command."""

from creditledger.cli.app import app, main

__all__ = ["app", "main"]
