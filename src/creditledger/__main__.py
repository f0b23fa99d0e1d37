"""``python -m creditledger``: the same as the ``creditledger`` command."""

from creditledger.cli import main

main()
