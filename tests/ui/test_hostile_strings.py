"""Strings from the dataset and the URL are shown as text, never as Markdown or HTML.

The hostile project's item titles, first user ids, categories, segments and one device
value are Markdown links, images, emphasis and HTML tags (``ui_helpers.HOSTILE``). On
every page, each string Streamlit renders as Markdown (bodies, labels, tooltips) must
hold them only escaped, and each plotly figure only as HTML entities.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from ui_helpers import HOSTILE, PHISH, RAW, figure, markdown_texts, unescape

from ui.text import md_escape, plot_escape

PAGES = ["overview", "recommendations", "explain", "whatif", "tradeoffs", "global", "segments",
         "reports", "health", "feedback", "runs"]


def _raw_fragments(at: AppTest) -> list[tuple[str, str]]:
    """Unescaped Markdown/HTML in the source, or a URL GFM would autolink once the
    backslash escapes are resolved (``md_escape`` breaks those with a word joiner)."""
    found = [(frag, text) for text in markdown_texts(at) for frag in RAW if frag in text]
    resolved = [(text, re.sub(r"\\(.)", r"\1", text)) for text in markdown_texts(at)]
    return found + [(m.group(0), text) for text, plain in resolved
                    if (m := re.search(r"(?i)https?://|www\.|\w@[\w-]+\.\w", plain))]


def _figure_specs(at: AppTest) -> list[str]:
    """The figures as JSON text with ``<``, ``>`` and ``&`` unescaped."""
    return [json.dumps(json.loads(el.proto.spec), ensure_ascii=False)
            for el in at.get("plotly_chart")]


@pytest.mark.parametrize("page", PAGES)
def test_hostile_data_renders_as_text(open_hostile: Callable[..., AppTest], page: str) -> None:
    at = open_hostile(page, user=HOSTILE[0])
    assert not at.exception
    assert not _raw_fragments(at)
    for spec in _figure_specs(at):
        assert "<b>x</b>" not in spec and "<script>" not in spec and "<b>app</b>" not in spec


def test_explain_shows_titles_and_ids_escaped(open_hostile: Callable[..., AppTest]) -> None:
    at = open_hostile("explain", user=HOSTILE[0])
    assert at.selectbox(key="exp_user").value == HOSTILE[0]
    texts = markdown_texts(at)
    compare = next(t for t in texts if "the bars add up to that gap" in t)
    assert any(f"**{md_escape(h)}**" in compare for h in HOSTILE)
    assert md_escape(HOSTILE[0]) == "\\[click\\]\\(https\u2060\\://evil\\.example\\)"
    reasons = [t for t in texts if t.startswith("- ")]
    assert reasons and not any("](" in r for r in reasons)


def test_charts_hold_titles_as_entities(open_hostile: Callable[..., AppTest]) -> None:
    at = open_hostile("recommendations", user=HOSTILE[0])
    labels = [str(y) for y in figure(at, "rec_shares")["data"][0]["y"]]
    titles = {label.split(". ", 1)[1] for label in labels}
    assert titles <= {plot_escape(h[:28]) for h in HOSTILE} and len(titles) > 1
    assert not any("<" in label for label in labels)


def test_phishing_user_in_the_link_is_shown_as_text(
        open_hostile: Callable[..., AppTest]) -> None:
    at = open_hostile("recommendations", user=PHISH)
    warning = next(w.value for w in at.warning if "from the link" in w.value)
    assert md_escape(PHISH) in warning
    assert "**Your session" not in warning and "[log in](" not in warning
    assert not _raw_fragments(at)


def test_hostile_user_in_the_report_caption(open_hostile: Callable[..., AppTest]) -> None:
    at = open_hostile("reports", user=HOSTILE[1])
    caption = next(c.value for c in at.caption if "choose another" in c.value)
    assert f"**{md_escape(HOSTILE[1])}**" in caption


def test_escaped_markdown_is_the_literal_text() -> None:
    """Dropping the escapes and word joiners gives the text back."""
    for s in (*HOSTILE, PHISH, "a_b-c 18-24 __init__ $x$ :red[x] www.evil.example a@b.co"):
        assert unescape(md_escape(s)) == s


def test_hostile_project_name_is_text(open_hostile: Callable[..., AppTest],
                                      hostile_root: Path) -> None:
    name = "[click](https:evil.example) **bold**"
    (hostile_root / name).symlink_to((hostile_root / "demo").resolve())
    at = open_hostile("overview", project=name)
    assert at.selectbox(key="project").value == name
    assert any(md_escape(name) in s.value for s in at.subheader)
    assert not _raw_fragments(at)
