"""The player's documented limits, in a module of their own: the command line reads them
without importing the player (numpy)."""

VOLUME_RANGE_DB = (-30.0, 3.0)
"""``--volume`` and the volume keys stay within this range (dB)."""
DEVICE_WAIT_SECONDS = 20.0
"""A lost or stalled audio device is reopened (the same one, else the next backend with
``--output auto``) for this long before the play gives up with exit code 7."""
REOPEN_EVERY_SECONDS = 0.5
"""How often a lost audio device is tried again."""
