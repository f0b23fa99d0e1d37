"""``python -m creditledger``: the same as the ``creditledger`` command."""

from creditledger.cli.app import main

main()
