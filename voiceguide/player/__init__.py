"""Hands-free playback: ``voiceguide play``. Submodules are imported where they are needed."""
