"""The timeline as a picture (SVG): what ``voiceguide plan --svg`` draws, to read at a glance.

Left to right runs the routine clock (0:00 is the first step, the intro before it), with a
labelled tick every minute (every 15 or 30 s in a short routine, more in a long one). Under
it, in lanes: the step titles, numbered as ``play --from`` counts; the parts (intro, steps,
sides, rests, waits, closing) as bars coloured by kind, rests and waits hatched grey; the
breath phases as a thin band in four shades (in, hold, out, hold); and every spoken cue as a
tick at its start, labelled with its text where there is room. Every text cut short, and
every tick left unlabelled, carries its full text in a ``<title>`` (shown on hover).

Each drawn item carries its times in file time, as ``plan --json`` gives them:
``data-start-ms``, ``data-end-ms``, ``data-kind`` and ``data-name``; the root element says
how file time maps onto x (``data-plot-x``, ``data-plot-width``, ``data-duration-ms``) and
where the routine clock's 0:00 is (``data-origin-ms``).

Plain SVG built as text and escaped here: no drawing library to import, nor
``xml.sax.saxutils`` (which imports ``urllib.request``: some 30 ms), so ``plan --svg`` costs
about what ``plan`` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from voiceguide.export.atomic import atomic_path
from voiceguide.timeline import Speech, Timeline, Tone
from voiceguide.timeline.parts import Part, parts
from voiceguide.units import clock
from voiceguide.words import Phrases

WIDTH = 1600  # px, whatever the routine's length: the whole routine in one view
PLOT_X = 72  # the lanes' names sit left of it
PLOT_RIGHT = 24
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
CHAR_EM = 0.56  # the fonts' mean glyph width in ems, a little over for lowercase text
CUE_ROWS = 4  # label rows under the cue ticks, filled first come first served
CUE_CHARS = 34  # a cue label longer than this is cut (the full text is its <title>)
TICK_GAP_PX = 80  # the least room between labelled axis ticks

# lane tops (px)
AXIS_Y, TITLES_Y, PARTS_Y, PARTS_H = 70, 92, 100, 34
BREATH_Y, BREATH_H = 142, 10
CUES_Y, CUE_ROW_H = 160, 15
LEGEND_Y = CUES_Y + CUE_ROWS * CUE_ROW_H + 22
HEIGHT = LEGEND_Y + 26

PART_FILL = {
    "intro": "#a7b6c6",
    "closing": "#a7b6c6",
    "step": "#2f6fb0",
    "side": "#2a9d8f",
    "rest": "url(#rest)",
    "wait": "url(#wait)",
}
SIDE_FILLS = ("#2a9d8f", "#5bbfb2")  # alternate, so sides side by side stay apart
DARK_TEXT = {"intro", "closing", "rest", "wait"}
BREATH_FILL = {"in": "#1f4e9c", "hold-in": "#4f7fcf", "out": "#9cbcef", "hold-out": "#d6e3f8"}
BREATH_TONES = ("inhale", "exhale", "hold")
QUIET_CUES = {"breath"}  # breath words ("Breathe in"): the band shows them; ticks only
DEFS = """<defs>
<pattern id="rest" width="8" height="8" patternUnits="userSpaceOnUse" \
patternTransform="rotate(45)"><rect width="8" height="8" fill="#e4e6ea"/>\
<line x1="0" y1="0" x2="0" y2="8" stroke="#a3a8b0" stroke-width="3"/></pattern>
<pattern id="wait" width="7" height="7" patternUnits="userSpaceOnUse">\
<rect width="7" height="7" fill="#eeeae0"/><circle cx="3.5" cy="3.5" r="1.3" fill="#9a9384"/>\
</pattern>
</defs>"""


@dataclass(frozen=True)
class Span:
    """One drawn item's times (file ms), kind and name, as its data attributes give them."""

    start_ms: int
    end_ms: int
    kind: str
    name: str


def text_width(text: str, size: float) -> float:
    """An estimate of ``text``'s width in px at font size ``size`` (no font is measured)."""
    return len(text) * size * CHAR_EM


def fit(text: str, room: float, size: float) -> str:
    """``text``, cut with an ellipsis to fit ``room`` px ("" if not even two letters fit)."""
    if text_width(text, size) <= room:
        return text
    keep = int(room / (size * CHAR_EM)) - 1
    return text[:keep].rstrip() + "…" if keep >= 2 else ""


# What XML text and double-quoted attributes must escape; control characters other than
# tab, LF and CR may not appear in XML 1.0 at all, so they are dropped.
_ESCAPES: dict[int, str | None] = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}
_ESCAPES |= {ord('"'): "&quot;"} | {c: None for c in range(32) if chr(c) not in "\t\n\r"}


def escape(text: str) -> str:
    """``text`` as XML character data or a double-quoted attribute value."""
    return text.translate(_ESCAPES)


def attr(value: object) -> str:
    return escape(str(value))


def data(span: Span) -> str:
    return (
        f'data-kind="{attr(span.kind)}" data-name="{attr(span.name)}" '
        f'data-start-ms="{span.start_ms}" data-end-ms="{span.end_ms}"'
    )


def breath_phases(timeline: Timeline) -> list[Span]:
    """The breath tones as phases: a hold is ``hold-in`` after an inhale, else ``hold-out``."""
    out: list[Span] = []
    last = "out"
    for e in timeline.events:
        if isinstance(e, Tone) and e.tone in BREATH_TONES:
            kind = {"inhale": "in", "exhale": "out"}.get(e.tone, f"hold-{last}")
            last = kind if e.tone != "hold" else last
            out.append(Span(e.start_ms, e.end_ms, kind, e.tone))
    return out


def tick_step_s(duration_ms: int, px_per_ms: float) -> int:
    """Seconds between labelled axis ticks: a minute, unless the routine is too short to
    show a few minutes or too long for the labels to stand apart."""
    roomy = [
        s
        for s in (5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)
        if s * 1000 * px_per_ms >= TICK_GAP_PX
    ]
    if duration_ms >= 4 * 60_000:
        roomy = [s for s in roomy if s >= 60]
    return roomy[0] if roomy else 3600


class Canvas:
    """The SVG being built: file time -> x, and the elements as lines of text."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.plot_w = WIDTH - PLOT_X - PLOT_RIGHT
        self.px_per_ms = self.plot_w / max(1, timeline.duration_ms)
        self.lines: list[str] = []

    def x(self, ms: int) -> float:
        return PLOT_X + ms * self.px_per_ms

    def add(self, line: str) -> None:
        self.lines.append(line)

    def text(self, x: float, y: float, text: str, size: float, **style: str) -> None:
        extra = "".join(f' {k.replace("_", "-")}="{attr(v)}"' for k, v in style.items())
        self.add(f'<text x="{x:.2f}" y="{y:.2f}" font-size="{size}"{extra}>{escape(text)}</text>')


def draw_axis(c: Canvas) -> None:
    """Ticks and labels on the routine clock, and a faint line down through the lanes."""
    tl = c.timeline
    step = tick_step_s(tl.duration_ms, c.px_per_ms) * 1000
    first = -(tl.origin_ms // step) * step  # the earliest tick at or after the file's start
    c.add('<g class="axis">')
    c.add(
        f'<line x1="{PLOT_X}" y1="{AXIS_Y}" x2="{c.x(tl.duration_ms):.2f}" y2="{AXIS_Y}" '
        'stroke="#555"/>'
    )
    for at in range(first, tl.duration_ms - tl.origin_ms + 1, step):
        x = c.x(at + tl.origin_ms)
        grid = "#888" if at == 0 else "#e3e3e3"
        c.add(
            f'<line class="grid" x1="{x:.2f}" y1="{AXIS_Y}" x2="{x:.2f}" '
            f'y2="{LEGEND_Y - 14}" stroke="{grid}"/>'
        )
        c.add(
            f'<line class="tick" data-routine-ms="{at}" x1="{x:.2f}" y1="{AXIS_Y - 5}" '
            f'x2="{x:.2f}" y2="{AXIS_Y}" stroke="#555"/>'
        )
        c.text(x, AXIS_Y - 8, clock(at), 12, text_anchor="middle", fill="#333")
    c.add("</g>")


def draw_titles(c: Canvas) -> None:
    """Each step's title (numbered from 1) over its parts, with a bracket as wide as it."""
    c.add('<g class="titles">')
    for ch in c.timeline.chapters:
        if ch.step is None:
            continue
        x0, x1 = c.x(ch.start_ms), c.x(ch.end_ms)
        full = f"{ch.step + 1}. {ch.title}"
        span = Span(ch.start_ms, ch.end_ms, "title", full)
        c.add(f'<g class="title" {data(span)}><title>{escape(full)}</title>')
        c.add(
            f'<path d="M{x0 + 1:.2f},{PARTS_Y - 2} v-4 H{x1 - 1:.2f} v4" fill="none" '
            'stroke="#666"/>'
        )
        c.text(
            x0 + 3, TITLES_Y - 1, fit(full, x1 - x0 - 6, 12), 12, fill="#222", font_weight="bold"
        )
        c.add("</g>")
    c.add("</g>")


def part_label(part: Part, words: Phrases) -> tuple[str, ...]:
    """What a bar may show, longest first: a step's title is over it, so its length."""
    length = clock(part.end_ms - part.start_ms)
    short = {
        "step": "",
        "side": words.side_name(part.side or ""),
        "rest": "rest",
        "wait": "wait",
    }.get(part.kind, part.name)
    return (f"{short} · {length}", short) if short else (length,)


def draw_parts(c: Canvas, words: Phrases) -> list[Span]:
    """One bar per part; returns the bars' spans."""
    spans = []
    c.add('<g class="parts">')
    sides_seen: dict[int | None, int] = {}
    for part in parts(c.timeline, words):
        span = Span(part.start_ms, part.end_ms, part.kind, part.name)
        spans.append(span)
        x0, x1 = c.x(part.start_ms), c.x(part.end_ms)
        fill = PART_FILL[part.kind]
        if part.kind == "side":
            n = sides_seen[part.step] = sides_seen.get(part.step, -1) + 1
            fill = SIDE_FILLS[n % 2]
        side = f' data-side="{attr(part.side)}"' if part.side else ""
        step = f' data-step="{part.step}"' if part.step is not None else ""
        c.add(f'<g class="part" {data(span)}{step}{side}>')
        c.add(f"<title>{escape(part.name)} ({clock(part.end_ms - part.start_ms)})</title>")
        c.add(
            f'<rect x="{x0:.3f}" y="{PARTS_Y}" width="{x1 - x0:.3f}" height="{PARTS_H}" '
            f'fill="{fill}" stroke="#fff" stroke-width="1"/>'
        )
        label = next((t for t in part_label(part, words) if text_width(t, 12) <= x1 - x0 - 8), "")
        if label:
            colour = "#222" if part.kind in DARK_TEXT else "#fff"
            c.text(x0 + 4, PARTS_Y + PARTS_H / 2 + 4, label, 12, fill=colour)
        c.add("</g>")
    c.add("</g>")
    return spans


def draw_breath(c: Canvas) -> list[Span]:
    """The breath band: one thin rectangle per phase, shaded by phase."""
    spans = breath_phases(c.timeline)
    c.add('<g class="breath">')
    for span in spans:
        x0, x1 = c.x(span.start_ms), c.x(span.end_ms)
        c.add(
            f'<rect class="phase" {data(span)} x="{x0:.3f}" y="{BREATH_Y}" '
            f'width="{x1 - x0:.3f}" height="{BREATH_H}" fill="{BREATH_FILL[span.kind]}"/>'
        )
    c.add("</g>")
    return spans


def draw_cues(c: Canvas, speech: Iterable[Speech]) -> list[Span]:
    """A tick per spoken cue; its text on the first label row with room for it. The labels
    are drawn after every tick, each on a white halo, so no tick runs through a label."""
    row_end = [float("-inf")] * CUE_ROWS
    spans, labels = [], []
    c.add('<g class="cues">')
    for s in speech:
        span = Span(s.start_ms, s.end_ms, s.cue, s.text)
        spans.append(span)
        x = c.x(s.start_ms)
        at = clock(s.start_ms - c.timeline.origin_ms)
        c.add(f'<g class="cue" {data(span)}><title>{escape(f"{at} {s.cue}: {s.text}")}</title>')
        label, row = "", -1
        if s.cue not in QUIET_CUES:
            room = min(text_width("x" * CUE_CHARS, 11), WIDTH - x - 4)
            free = [i for i in range(CUE_ROWS) if row_end[i] + 6 <= x]
            if free:  # else every row's label runs on past here: a tick and its <title>
                row, label = free[0], fit(s.text, room, 11)
        y1 = CUES_Y + (row + 1) * CUE_ROW_H - 10 if label else CUES_Y + 4
        colour = "#bbb" if s.cue in QUIET_CUES else "#444"
        c.add(
            f'<line x1="{x:.3f}" y1="{BREATH_Y + BREATH_H + 1}" x2="{x:.3f}" y2="{y1}" '
            f'stroke="{colour}"/></g>'
        )
        if label:
            labels.append((x + 2, CUES_Y + (row + 1) * CUE_ROW_H - 2, label, span))
            row_end[row] = x + 2 + text_width(label, 11)
    c.add("</g>")
    c.add('<g class="cue-labels">')
    for x, y, label, span in labels:  # on a white card: the ticks pass behind the labels
        c.add(
            f'<rect x="{x - 1:.2f}" y="{y - 11}" width="{text_width(label, 11) + 2:.2f}" '
            f'height="{CUE_ROW_H}" fill="#fff"/>'
        )
        c.add(
            f'<text class="cue-label" {data(span)} x="{x:.2f}" y="{y}" font-size="11" '
            f'fill="#222">{escape(label)}<title>{escape(span.name)}</title></text>'
        )
    c.add("</g>")
    return spans


def draw_legend(c: Canvas) -> None:
    items = [
        (PART_FILL["step"], "step"),
        (SIDE_FILLS[0], "side"),
        (PART_FILL["rest"], "rest"),
        (PART_FILL["wait"], "wait"),
        (PART_FILL["intro"], "intro, closing"),
        *((fill, f"breath {kind}") for kind, fill in BREATH_FILL.items()),
    ]
    x = float(PLOT_X)
    c.add('<g class="legend">')
    for fill, name in items:
        c.add(
            f'<rect x="{x:.1f}" y="{LEGEND_Y - 10}" width="18" height="12" fill="{fill}" '
            'stroke="#999" stroke-width="0.5"/>'
        )
        c.text(x + 23, LEGEND_Y, name, 12, fill="#333")
        x += 23 + text_width(name, 12) + 16
    c.text(x + 8, LEGEND_Y, "| tick: a spoken cue (hover for its text)", 12, fill="#555")
    c.add("</g>")


def picture(timeline: Timeline, words: Phrases, subtitle: str = "") -> str:
    """The timeline drawn as an SVG document (text); ``subtitle`` goes under the title."""
    c = Canvas(timeline)
    c.add('<?xml version="1.0" encoding="UTF-8"?>')
    c.add(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="{FONT}" '
        f'data-title="{attr(timeline.title)}" data-origin-ms="{timeline.origin_ms}" '
        f'data-duration-ms="{timeline.duration_ms}" data-plot-x="{PLOT_X}" '
        f'data-plot-width="{c.plot_w}">'
    )
    c.add(f"<title>{escape(timeline.title)}</title>")
    c.add(DEFS)
    c.add(f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>')
    c.text(PLOT_X, 26, timeline.title, 18, font_weight="bold", fill="#111")
    note = "time: the routine clock (0:00 = first step)"
    c.text(PLOT_X, 46, f"{subtitle} · {note}" if subtitle else note, 12, fill="#555")
    for y, name in (
        (PARTS_Y + PARTS_H / 2 + 4, "parts"),
        (BREATH_Y + 9, "breath"),
        (CUES_Y + 12, "cues"),
    ):
        c.text(PLOT_X - 8, y, name, 12, text_anchor="end", fill="#555")
    draw_axis(c)
    draw_titles(c)
    draw_parts(c, words)
    draw_breath(c)
    draw_cues(c, timeline.speech)
    draw_legend(c)
    c.add("</svg>")
    return "\n".join(c.lines) + "\n"


def write_picture(timeline: Timeline, words: Phrases, path: Path | str, subtitle: str = "") -> Path:
    """Write ``picture(...)`` to ``path`` atomically (UTF-8); an unwritable path raises
    ExportError naming it."""
    target = Path(path)
    svg = picture(timeline, words, subtitle)
    with atomic_path(target) as temp:
        temp.write_text(svg, encoding="utf-8", newline="\n")
    return target
