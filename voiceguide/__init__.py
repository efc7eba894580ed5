"""voiceguide: routine scripts turned into voice-guided audio routines.

Data flows one way: script -> model -> timeline -> render -> sinks (exporters, player).
"""

__version__ = "0.1.0"
