"""The PDF canvas of the reports: an fpdf2 document with fast, batched drawing.

fpdf2's ``text``, ``rect`` and ``get_string_width`` cost 20–50 µs a call (graphics-state
copies, text fragmentation), and a user's pages make about a thousand such calls.
:class:`Doc` measures text from the font's glyph widths (cached per string) and writes
runs of text, filled rectangles and lines as one content-stream chunk each, wrapped in
``q … Q`` so fpdf2's own graphics state is left as it was. The operators are the ones
fpdf2's ``text()`` and ``rect()`` write; the font is selected on the page as ``text()``
does, so glyph subsetting still sees every character.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import cast

import matplotlib
from fpdf import FPDF
from fpdf.fonts import FontFace, TTFFont

from recsys.errors import ExplanationError

__all__ = ["FONT", "RGB", "Doc"]

FONT = "DejaVu"
"""DejaVu Sans, shipped with matplotlib, embedded (subset) for Unicode text."""
RGB = tuple[int, int, int]
Run = tuple[float, float, str]
"""(x, y, text): text at x mm, its baseline at y mm."""
_BREAK = re.compile(r"[^ _]*[ _]+|[^ _]+$")
"""Pieces of text that end where a line may break: after a space or an underscore."""
_HEAD_FILL = (238, 241, 246)
_FAMILY = FONT.lower()
"""How fpdf2 stores the family name."""


def _rg(c: RGB, op: str = "rg") -> str:
    return f"{c[0] / 255:.3f} {c[1] / 255:.3f} {c[2] / 255:.3f} {op}"


class Doc(FPDF):
    """A4 portrait document with ``footer_text`` and a page number in the footer."""

    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        self.add_font(FONT, "", str(fonts / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(fonts / "DejaVuSans-Bold.ttf"))
        self.set_margins(12, 12, 12)
        self.set_auto_page_break(True, margin=14)
        self.set_title(footer_text)
        self.set_creator("Blendscope")
        self._widths: dict[tuple[int, float, str], float] = {}
        self._encoded: dict[tuple[int, str], str] = {}
        self._glyphs: dict[int, dict[str, str]] = {}
        """Per font, each character's code in the embedded subset ("" if the font lacks it)."""

    def footer(self) -> None:
        """Write the title and page number, centred at the bottom (grey)."""
        self.use("", 7)
        text = f"{self.footer_text} · page {self.page_no()}"
        text = self.fit(text, self.w - 24)
        self.texts([((self.w - self.width(text)) / 2, self.h - 7.5, text)], (120, 120, 120))

    # -- measuring ---------------------------------------------------------------------------
    @property
    def ttf(self) -> TTFFont:
        """The current font (always one of the embedded TrueType fonts)."""
        font = self.current_font
        if not isinstance(font, TTFFont):
            raise ExplanationError(f"pdf: no Unicode font is selected; call set_font({FONT!r}) "
                                   "first")
        return font

    def use(self, style: str, size: float) -> None:
        """Select DejaVu Sans (``""`` or ``"B"``) at ``size`` pt, unless it is current."""
        if not (self.font_family == _FAMILY and self.font_style == style
                and self.font_size_pt == size):
            self.set_font(FONT, style, size)

    def _glyph_widths(self) -> Mapping[int, float]:
        """Advance width of each code point in the current font (1/1000 of the size)."""
        return cast(Mapping[int, float], self.ttf.cw)  # keyed by code point (fpdf2 types it str)

    def width(self, text: str) -> float:
        """Return the width of ``text`` in mm in the current font (cached per string)."""
        key = (cast(TTFFont, self.current_font).i, self.font_size_pt, text)
        w = self._widths.get(key)
        if w is None:
            cw = self._glyph_widths()
            w = sum(cw[ord(c)] for c in text) * self.font_size_pt * 0.001 / self.k
            self._widths[key] = w
        return w

    def fit(self, text: str, width: float) -> str:
        """Cut ``text`` with an ellipsis to fit ``width`` mm in the current font."""
        if self.width(text) <= width:
            return text
        cw, scale = self._glyph_widths(), self.font_size_pt * 0.001 / self.k
        room = width / scale - cw[ord("…")]
        used, cut = 0.0, 0
        for cut, c in enumerate(text):  # noqa: B007 - the cut is the loop's result
            used += cw[ord(c)]
            if used > room:
                break
        return text[:cut] + "…"

    def wrap(self, text: str, width: float) -> list[str]:
        """Break ``text`` into lines of at most ``width`` mm, only after spaces or underscores.

        A piece wider than a line is cut with an ellipsis.
        """
        if self.width(text) <= width:
            return [text]
        lines: list[str] = []
        line = ""
        for piece in _BREAK.findall(text):
            if line and self.width((line + piece).rstrip()) > width:
                lines.append(line.rstrip())
                line = ""
            line += piece
        lines.append(line.rstrip())
        return [self.fit(ln, width) for ln in lines]

    def fits_unbroken(self, text: str, width: float) -> bool:
        """Tell whether every piece of ``text`` between break points fits ``width`` mm."""
        return all(self.width(p.rstrip()) <= width for p in _BREAK.findall(text))

    # -- drawing -----------------------------------------------------------------------------
    def _encode(self, text: str) -> str:
        """Return the ``(…) Tj`` operator that shows ``text`` in the current font.

        Each character is written as its code in the font's embedded subset, as fpdf2's
        ``encode_text`` does; codes are cached per font.
        """
        key = (cast(TTFFont, self.current_font).i, text)
        out = self._encoded.get(key)
        if out is None:
            font = self.ttf
            glyphs = self._glyphs.setdefault(font.i, {})
            for c in set(text) - glyphs.keys():
                code = font.subset.pick(ord(c))
                glyphs[c] = "" if code is None else chr(code)
            mapped = "".join([glyphs[c] for c in text])
            out = self._encoded[key] = f"({font.escape_text(mapped)}) Tj"
        return out

    def texts(self, runs: Iterable[Run], color: RGB = (0, 0, 0)) -> None:
        """Write each (x, y, text) in the current font, ``y`` on the baseline."""
        if not self.current_font_is_set_on_page:
            self._out(self._set_font_for_page(self.ttf, self.font_size_pt))
        k, h, encode = self.k, self.h, self._encode
        parts = [f"q {_rg(color)}"]
        parts += [f"BT {x * k:.2f} {(h - y) * k:.2f} Td {encode(t)} ET" for x, y, t in runs if t]
        parts.append("Q")
        self._out("\n".join(parts))

    def right_texts(self, runs: Iterable[Run], color: RGB = (0, 0, 0)) -> None:
        """Write texts as :meth:`texts` does, ``x`` being the right end of each."""
        self.texts([(x - self.width(t), y, t) for x, y, t in runs], color)

    def fill_rects(self, rects: Iterable[tuple[float, float, float, float, RGB]]) -> None:
        """Fill each (x, y, width, height, colour) rectangle (``y`` its top)."""
        k, h = self.k, self.h
        parts, last = ["q"], None
        for x, y, w, hh, c in rects:
            if c != last:
                parts.append(_rg(c))
                last = c
            parts.append(f"{x * k:.2f} {(h - y) * k:.2f} {w * k:.2f} {-hh * k:.2f} re f")
        parts.append("Q")
        self._out("\n".join(parts))

    def stroke(self, lines: Iterable[tuple[float, float, float, float]], color: RGB,
               width: float = 0.2, *, box: bool = False) -> None:
        """Draw each (x1, y1, x2, y2) line, or with ``box`` each (x, y, w, h) outline."""
        k, h = self.k, self.h
        parts = [f"q {_rg(color, 'RG')} {width * k:.2f} w"]
        for a, b, c, d in lines:
            parts.append(f"{a * k:.2f} {(h - b) * k:.2f} {c * k:.2f} {-d * k:.2f} re S" if box
                         else f"{a * k:.2f} {(h - b) * k:.2f} m {c * k:.2f} {(h - d) * k:.2f} l S")
        parts.append("Q")
        self._out("\n".join(parts))

    # -- tables ------------------------------------------------------------------------------
    def grid(self, header: Sequence[str], rows: Sequence[Sequence[str]],
             widths: Sequence[float], numeric: Sequence[bool], size: float = 7.5) -> None:
        """Draw a table of one line per row, continued on new pages under its header.

        Cells are cut to fit; headers wrap at spaces or underscores, never inside a word,
        in a smaller font where a word is wider than its column.
        """
        row_h = size * 0.55
        head_size = self.header_size(header, [w - 2 for w in widths], size)
        heads = [self.wrap(t, w - 2) for t, w in zip(header, widths, strict=True)]
        head_h = row_h * max(len(h) for h in heads)
        bottom = self.h - self.b_margin
        start = 0
        while True:
            if self.get_y() + head_h + row_h > bottom and rows:
                self.add_page()
            fit = max(int((bottom - self.get_y() - head_h) // row_h), 1)
            self._grid_part(heads, head_h, head_size, rows[start:start + fit], widths, numeric,
                            size)
            start += fit
            if start >= len(rows):
                return
            self.add_page()

    def _grid_part(self, heads: list[list[str]], head_h: float, head_size: float,
                   rows: Sequence[Sequence[str]], widths: Sequence[float],
                   numeric: Sequence[bool], size: float) -> None:
        row_h, x0, y = size * 0.55, self.l_margin, self.get_y()
        lefts = [x0 + sum(widths[:j]) for j in range(len(widths))]
        self.use("B", head_size)
        self.fill_rects([(x0, y, sum(widths), head_h, _HEAD_FILL)])
        runs_l: list[Run] = []
        runs_r: list[Run] = []
        for lines, x, w, num in zip(heads, lefts, widths, numeric, strict=True):
            for i, ln in enumerate(lines):
                (runs_r if num else runs_l).append(
                    (x + w - 1 if num else x + 1, y + row_h * (i + 0.72), ln))
        self.texts(runs_l)
        self.right_texts(runs_r)
        y += head_h
        rules = [y]
        self.use("", size)
        runs_l, runs_r = [], []
        for cells in rows:
            for text, x, w, num in zip(cells, lefts, widths, numeric, strict=True):
                shown = self.fit(text, w - 2)
                (runs_r if num else runs_l).append(
                    (x + w - 1 if num else x + 1, y + row_h * 0.72, shown))
            y += row_h
            rules.append(y)
        self.texts(runs_l)
        self.right_texts(runs_r)
        self.stroke([(x0, r, x0 + sum(widths), r) for r in rules], (215, 215, 215))
        self.set_y(y + 3)

    def header_size(self, header: Sequence[str], widths: Sequence[float], size: float,
                    smallest: float = 5.0) -> float:
        """Return the largest bold size at which every word of every header fits its column.

        Sizes go from ``size`` down to ``smallest`` in 0.5 pt steps; the bold font at the
        size found is left current.
        """
        head = size
        self.use("B", head)
        while head > smallest and not all(self.fits_unbroken(t, w)
                                          for t, w in zip(header, widths, strict=True)):
            head -= 0.5
            self.use("B", head)
        return head

    def fitted_table(self, header: Sequence[str], rows: Sequence[Sequence[str]],
                     widths: Sequence[float] | None = None, size: float = 8) -> None:
        """Draw an fpdf2 table whose cells wrap.

        Headers break only at spaces or underscores, their font shrinking (to 5 pt) until
        every word fits its column.
        """
        rel = list(widths) if widths is not None else [1.0] * len(header)
        cols = [self.epw * w / sum(rel) - 2 * self.c_margin - 0.6 for w in rel]
        head_size = self.header_size(header, cols, size)
        shown = ["\n".join(self.wrap(t, w)) for t, w in zip(header, cols, strict=True)]
        self.use("", size)
        style = FontFace(family=FONT, emphasis="BOLD", size_pt=head_size, fill_color=_HEAD_FILL)
        with self.table(col_widths=tuple(rel), line_height=size * 0.5, text_align="LEFT",
                        headings_style=style, first_row_as_headings=True,
                        borders_layout="HORIZONTAL_LINES") as table:
            for row in [shown, *rows]:
                cells = table.row()
                for v in row:
                    cells.cell(v)
        self.ln(2)
