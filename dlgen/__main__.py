"""``python -m dlgen`` runs the CLI."""

from dlgen.cli import main

main()
