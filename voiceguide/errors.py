"""The error chain: every error voiceguide raises on purpose derives from VoiceguideError.

Each error carries its context as data and builds its one-line message once; the CLI turns
it into that line and an exit code (see ``voiceguide.cli``).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """The documented exit codes of the ``voiceguide`` command."""

    OK = 0
    ERROR = 1  # any other voiceguide error
    USAGE = 2  # bad command-line arguments (typer/click; an export's format or bitrate)
    SCRIPT = 3  # the routine script is invalid or missing (and check --strict's warnings)
    CUE_FIT = 4  # cues do not fit (check, or export refusing to overlap speech)
    ENGINE = 5  # speech engine or voice missing or failing
    EXPORT = 6  # an output file could not be written
    INTERRUPTED = 130  # Ctrl-C or SIGTERM
    AUDIO = 7  # no audio output, or it failed while playing (voiceguide play)
    NO_PLAYER = 8  # voiceguide ctl: no player is running


class VoiceguideError(Exception):
    """Base of all expected errors: the CLI prints ``str(error)`` and exits with ``exit_code``."""

    exit_code: ExitCode = ExitCode.ERROR


class ScriptError(VoiceguideError, ValueError):
    """A routine script is invalid; points at the file, line and column (1-based)."""

    exit_code = ExitCode.SCRIPT

    def __init__(
        self,
        path: Path | str,
        line: int,
        column: int,
        message: str,
        field: str | None = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.column = column
        self.field = field
        self.message = message
        where = f"{self.path}:{line}:{column}"
        what = f"{field}: {message}" if field else message
        super().__init__(f"{where}: {what}")


class NoSuchScript(ScriptError):
    """The script named is neither a file nor a built-in routine: no line or column to name."""

    BUILTIN = "not a file nor a built-in routine; see 'voiceguide routines'"

    def __init__(self, path: Path | str, why: str = BUILTIN) -> None:
        self.path = str(path)
        self.line = self.column = 0
        self.field = None
        self.message = why
        shown = f"no such script: {self.path}"
        Exception.__init__(self, f"{shown} ({why})" if why else shown)


class CueFitError(VoiceguideError):
    """One or more cues do not fit before the next one (raised by export; check reports).

    ``issues`` are the compiler's fit issues, each with the script position of its cue."""

    exit_code = ExitCode.CUE_FIT

    def __init__(self, message: str, issues: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.issues = tuple(issues)


class StrictWarnings(VoiceguideError):
    """``check --strict`` found warnings: the exit code of the error they resemble."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class EngineError(VoiceguideError, RuntimeError):
    """A speech engine or voice is missing or failed; the message names the fix."""

    exit_code = ExitCode.ENGINE


class ExportError(VoiceguideError, OSError):
    """An output file could not be written; nothing partial is left at the target."""

    exit_code = ExitCode.EXPORT


class UnsupportedOutput(ExportError):
    """The export is asked for a format or an MP3 bitrate voiceguide cannot write: a bad
    argument (exit code 2), refused before anything is compiled or rendered."""

    exit_code = ExitCode.USAGE


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM: raised from the signal handler so cleanup code runs.

    A KeyboardInterrupt, not a VoiceguideError: like Ctrl-C itself it passes every
    ``except Exception`` on its way out (a library's, or a best-effort cleanup's), so a stop
    signal can never be swallowed while the command goes on to finish its work. The CLI
    ends on it with ``ExitCode.INTERRUPTED``."""

    def __init__(self) -> None:
        super().__init__("interrupted")


class AudioDeviceError(VoiceguideError, OSError):
    """No audio output could be opened, or it failed while playing; the message names the fix."""

    exit_code = ExitCode.AUDIO


class AudioLibraryMissing(AudioDeviceError):
    """The Python audio library an output needs is not installed; the message names the fix.
    Not worth waiting for: a device wait does not retry it."""

    def __init__(self, library: str, why: str) -> None:
        self.library = library
        super().__init__(
            f"the {library} output needs the {library} module ({why}): "
            f"pip install 'voiceguide[{library}]' (it is built from source: it needs gcc and "
            "libasound2-dev, e.g. apt-get install gcc python3-dev libasound2-dev)"
        )
