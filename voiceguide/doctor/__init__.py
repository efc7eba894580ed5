"""``voiceguide doctor``: whether this machine can speak and play a routine, and the fixes.

Each check (``check.Check``) is one part of the machine the player needs: the speech engines
(``engines``, each speaking a word in a child process), the audio outputs and a test tone
(``audio``), the cache directory (``cache``), the control socket (``control``), the buttons
file (``buttons``) and the versions (``versions``). ``run.run_checks`` runs them, each
within its time limit, and ``report`` prints them as a table or as JSON.
"""
