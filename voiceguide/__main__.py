"""``python -m voiceguide`` runs the command line (``main`` catches signals first)."""

from voiceguide.cli import main

main()
