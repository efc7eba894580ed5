"""The compiler: a routine (``voiceguide.model``) becomes one timeline (``voiceguide.timeline``).

- ``layout``: places every chime, instruction, cue, breath tone and rest in time, with the
  spoken clips' measured lengths; ``compile_routine`` is the entry point.
- ``pacer``: the breathing pacer's tones and words within a step.
- ``cuefit``: which cues do not fit before what follows them, and by how much.
- ``job``: the compiler on a thread for a cold start, handing on the finished parts.
"""

from voiceguide.compile.layout import Compiled, compile_routine, wait_for_speech

__all__ = ["Compiled", "compile_routine", "wait_for_speech"]
