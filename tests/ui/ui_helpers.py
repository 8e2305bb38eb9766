"""Small readers of AppTest output shared by the dashboard tests."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
from streamlit.testing.v1 import AppTest


def titles(at: AppTest) -> list[str]:
    """Texts of the page's ``st.title`` headings."""
    return [t.value for t in at.title]


def errors(at: AppTest) -> list[str]:
    """Texts of every ``st.error`` shown."""
    return [e.value for e in at.error]


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
