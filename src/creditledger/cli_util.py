"""Helpers shared by the command-line modules (``cli``, ``audit_cli``)."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from creditledger.errors import UnusableLedgerError

_err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr (the message as plain text, never as rich markup,
    so ``creditledger[postgres]`` stays as written) and exit with ``code``."""
    _err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def read_passphrase(env_name: str) -> bytes:
    """A private key's passphrase: from the environment variable, else a prompt on a terminal.

    Raises :class:`UnusableLedgerError` (the CLI's exit 2) when neither is available.
    """
    value = os.environ.get(env_name)
    if value is None:
        if not sys.stdin.isatty():
            raise UnusableLedgerError(f"no passphrase: set the environment variable {env_name}")
        value = typer.prompt("passphrase of the key", hide_input=True)
    return value.encode("utf-8")
