"""Strings from data or the URL, made safe to show (no Streamlit here).

Streamlit renders Markdown (plus its own directives, LaTeX and, in labels and tooltips,
links and images) in ``st.markdown``, ``st.caption``, ``st.info``/``warning``/``error``,
titles, widget labels, ``help`` tooltips and tab labels; plotly renders a subset of HTML
(``<b>``, ``<br>``, ``<a href>``…) in titles, tick labels, legends and hover text. Every
string that comes from a dataset (titles, ids, attribute and feature values, column and
project names) or from the query string goes through :func:`md_escape` before it is put
into Markdown and through :func:`plot_escape` before it is put into a figure, so it is
shown literally, never as a link, image, heading or markup.
"""

from __future__ import annotations

import html
import re

__all__ = ["md_escape", "md_lines", "plot_escape"]

_SPECIAL = re.compile(r"(?<![A-Za-z0-9])[_-]|[_-](?![A-Za-z0-9])|[\\`*{}\[\]()#+.!|<>~$:@&=^]")
"""Markdown, GFM, HTML, LaTeX and Streamlit-directive characters; ``_`` and ``-`` only
where they are not inside a word (``user_ctr_30d`` and ``18-24`` are inert as they are)."""
_SPACE = re.compile(r"[\s\x00-\x1f\x7f\u2028\u2029]+")
_JOINER = "\u2060"
"""WORD JOINER: invisible, and no character GFM's autolink finder accepts."""
_AUTOLINK = re.compile(r"(?i)(?<=www)(?=\.)|(?=[:@])")
"""Where a bare URL (``https://``, ``www.``) or e-mail address (``a@b.c``) would be
linked: GFM finds those in the text *after* backslash escapes are resolved, so escaping
does not stop it; a word joiner before each ``:`` and ``@`` and after ``www`` does (it
also keeps ``:smile:`` emoji and ``:material/…:`` icon codes literal)."""


def md_escape(value: object) -> str:
    r"""``value`` as Markdown that renders as exactly its text, on one line.

    Every character with a meaning in Markdown, GFM, HTML, LaTeX or Streamlit's
    directives is backslash-escaped (CommonMark lets any ASCII punctuation be escaped,
    so the text is unchanged on screen) and each run of whitespace or control characters
    becomes one space. That disarms links, images, emphasis, headings, lists, tables,
    HTML tags and entities, LaTeX (``$``) and ``:colour[…]`` directives. An invisible
    word joiner (U+2060) before each ``:`` and ``@`` and after ``www`` stops bare-URL
    autolinks (``https://…``, ``www.…``, ``a@b.c``), which GFM finds after escapes.

    Examples
    --------
    >>> md_escape("[click](https://evil.example)")
    '\\[click\\]\\(https\u2060\\://evil\\.example\\)'
    >>> md_escape("two\nlines")
    'two lines'
    """
    text = _AUTOLINK.sub(_JOINER, _SPACE.sub(" ", str(value)))
    return _SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def md_lines(text: object) -> str:
    """A multi-line message (e.g. an error listing several problems) as escaped Markdown,
    one line per line of ``text`` (joined by hard line breaks)."""
    lines = [md_escape(line) for line in str(text).splitlines() if line.strip()]
    return "  \n".join(lines)


def plot_escape(value: object) -> str:
    """``value`` as plotly text (title, tick, legend or hover label) shown literally:
    ``<``, ``>`` and ``&`` become entities, so no tag or link is rendered; newlines
    become spaces."""
    return html.escape(_SPACE.sub(" ", str(value)), quote=False)
