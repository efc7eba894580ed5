"""``python -m voiceguide`` runs the command line."""

from voiceguide.cli import main

main()
