"""Routine scripts (YAML) -> the model, with every error pointing at ``file:line:col``.

The YAML is composed into nodes that keep each value's position (``compose``), held to
``voiceguide.limits`` as they are built; the nodes are then read field by field into the
model: the routine (``routine``), its steps (``steps``), their cues and breathing
(``cues``, ``breathing``) and includes of other scripts (``includes``), each with the
generic readers of ``fields``, one set for a step and for an included step's overrides.
See the README for the format.
"""

from __future__ import annotations

from voiceguide.script.load import load_script, parse_script

__all__ = ["load_script", "parse_script"]
