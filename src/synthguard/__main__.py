"""``python -m synthguard`` runs the CLI."""

from synthguard.cli import main

main()
