"""Small readers of AppTest output and a ``streamlit run`` server, shared by the
dashboard tests."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

HOSTILE = ("[click](https://evil.example)", "**bold**", "<script>alert(1)</script>",
           "<b>x</b>", "![img](http://x/y.png)")
"""Item titles and user ids of the hostile project: each must show as its literal text."""
PHISH = "**Your session expired** [log in](https://evil.example)"
"""A ``?user=`` value that must not become a bold link inside our own warning."""
RAW = ("[click](", "](https://evil", "**bold**", "**Your session", "<script>", "<b>",
       "![img](", "](http://x")
"""Fragments that appear in Markdown only if a data string went in unescaped."""


def titles(at: AppTest) -> list[str]:
    """Texts of the page's ``st.title`` headings."""
    return [t.value for t in at.title]


def errors(at: AppTest) -> list[str]:
    """Texts of every ``st.error`` shown, as they read on screen (messages are escaped
    Markdown, see :func:`unescape`)."""
    return [unescape(e.value) for e in at.error]


def frame_with(at: AppTest, column: str) -> Any:
    """The first ``st.dataframe`` shown with this column (frames have no widget id)."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise KeyError(f"no dataframe with a column {column!r}")


def figure(at: AppTest, key: str) -> dict[str, Any]:
    """The plotly figure of the ``st.plotly_chart`` with this key, as a dict."""
    for el in at.get("plotly_chart"):
        if el.proto.id.endswith(f"-{key}"):
            return json.loads(el.proto.spec)  # type: ignore[no-any-return]
    raise KeyError(f"no plotly chart with key {key!r}")


def decode(values: Any) -> np.ndarray:
    """A plotly array, plain or base64-encoded (``{"dtype", "bdata"}``)."""
    if isinstance(values, dict) and "bdata" in values:
        arr = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
        return arr.reshape(values["shape"]) if "shape" in values else arr
    return np.asarray(values)


def markdown_texts(at: AppTest) -> list[str]:
    """Every string the page renders as Markdown: bodies of markdown, captions, alerts,
    headings and metrics, widget and tab labels, tooltips."""
    out = []
    for node in at._tree:
        proto = getattr(node, "proto", None)
        fields = getattr(getattr(proto, "DESCRIPTOR", None), "fields_by_name", {})
        for name in ("body", "label", "help"):
            if name in fields and isinstance(getattr(proto, name), str):
                out.append(getattr(proto, name))
    return [t for t in out if t]


def all_texts(at: AppTest) -> list[str]:
    """:func:`markdown_texts` plus exception messages and selectbox options."""
    out = markdown_texts(at) + [e.value for e in at.exception]
    return out + [str(o) for box in at.selectbox for o in box.options]


def free_port() -> int:
    """A TCP port free on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def streamlit_server(artifacts_root: Path, **env: str) -> Iterator[str]:
    """``streamlit run app.py`` on a free loopback port over ``artifacts_root`` (extra
    environment in ``env``); yields its URL once ``/_stcore/health`` answers."""
    port = free_port()
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/streamlit"), "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=dict(os.environ, BLENDSCOPE_ARTIFACTS=str(artifacts_root), **env),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    if proc.poll() is None:  # timed out: stop it so stderr ends
                        proc.kill()
                    err = proc.stderr.read() if proc.stderr else b""
                    raise RuntimeError(f"streamlit did not start: {err!r}") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def unescape(text: str) -> str:
    """Markdown source as it reads on screen: backslash escapes and word joiners
    (U+2060, see ``ui.text.md_escape``) dropped."""
    return re.sub(r"\\(.)", r"\1", text).replace("\u2060", "")


def wait_idle(page: Any) -> None:
    """Wait until the Playwright ``page``'s Streamlit script has finished its run."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'", timeout=90_000)


def full_shot(page: Any, path: Path, width: int) -> None:
    """Screenshot the whole main area (Streamlit scrolls an inner container, so the
    viewport is stretched to its height first)."""
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": width, "height": max(900, int(height))})
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": width, "height": 900})


BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at "
                       "/usr/bin/chromium (apt-get install -y chromium)"),
]
"""``pytestmark`` of every Chromium test module."""
