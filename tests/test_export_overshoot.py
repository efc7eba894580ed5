"""A lossy export remembers how far its encoder overshot with its voices, so the next one
is encoded once: real hibari, real MP3 encoding, decoded and measured."""

from __future__ import annotations

from pathlib import Path

import pytest

import voiceguide.export as export_package
from voiceguide.export import overshoot
from voiceguide.export.routine import LOSSY_PEAK_DBTP
from voiceguide.pipeline import export

pytestmark = pytest.mark.e2e


def counting(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files each encode of an export writes, as it is made."""
    encodes: list[Path] = []
    real = export_package.export_audio

    def counted(*args: object, **kwargs: object) -> list[Path]:
        encodes.append(Path(str(args[2])))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(export_package, "export_audio", counted)
    return encodes


def test_a_first_export_with_hibari_is_encoded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(overshoot, "_store", lambda: tmp_path / "overshoot.json")
    encodes = counting(monkeypatch)
    for suffix in (".mp3", ".ogg"):
        done = export("daily", tmp_path / f"daily{suffix}", engine="hibari", force=True)
        assert done.peak_dbtp is not None and done.peak_dbtp <= LOSSY_PEAK_DBTP
    assert len(encodes) == 2  # one each: hibari's typical overshoot is known


def test_a_voice_that_overshoots_is_encoded_twice_once_then_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "overshoot.json"
    monkeypatch.setattr(overshoot, "_store", lambda: store)
    monkeypatch.setattr(overshoot, "TYPICAL_DB", {})  # a voice nothing is known of
    encodes = counting(monkeypatch)
    out = tmp_path / "daily.mp3"
    first = export("daily", out, engine="hibari", force=True)
    assert len(encodes) == 2  # hibari overshoots in MP3 more than the format's figure
    assert first.peak_dbtp is not None and first.peak_dbtp <= LOSSY_PEAK_DBTP
    assert store.exists()
    encodes.clear()
    again = export("daily", out, engine="hibari", force=True)
    assert len(encodes) == 1
    assert again.peak_dbtp is not None and again.peak_dbtp <= LOSSY_PEAK_DBTP
    assert again.lufs is not None and first.lufs is not None
    assert abs(again.lufs - first.lufs) < 0.3  # about as loud as the twice-encoded file


def test_a_damaged_store_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "overshoot.json"
    monkeypatch.setattr(overshoot, "_store", lambda: store)
    store.write_text('{"a": 99, "b": "x", "c": -1, "d": 0.5}', encoding="utf-8")
    assert [overshoot.remembered(k) for k in "abcde"] == [0.0, 0.0, 0.0, 0.5, 0.0]
    overshoot.remember("d", 0.4)  # only a larger one replaces what is known
    assert overshoot.remembered("d") == 0.5
    overshoot.remember("e", 0.7)
    assert overshoot.remembered("e") == 0.7
    store.write_text("not json", encoding="utf-8")
    assert overshoot.remembered("e") == 0.0
