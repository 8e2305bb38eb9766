"""Optional login gate: with ``BLENDSCOPE_REQUIRE_LOGIN=1`` nothing is shown until the
visitor has logged in through Streamlit's OpenID Connect support (``st.login``).

The identity provider is configured in ``.streamlit/secrets.toml`` under ``[auth]``
(``redirect_uri``, ``cookie_secret``, ``client_id``, ``client_secret``,
``server_metadata_url``) and needs Authlib (``pip install "streamlit[auth]"``). When
the login is required but not configured, the dashboard stays closed and says why: it
never falls back to showing data.
"""

from __future__ import annotations

import importlib.util

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from ui import state
from ui.text import md_escape

__all__ = ["gate"]


def _configured() -> str | None:
    """Why ``st.login`` cannot work here (``None`` if it can)."""
    if importlib.util.find_spec("authlib") is None:
        return "Authlib is not installed (pip install \"streamlit[auth]\")"
    try:
        has_auth = "auth" in st.secrets
    except StreamlitSecretNotFoundError:
        has_auth = False
    return None if has_auth else ".streamlit/secrets.toml has no [auth] section"


def gate() -> None:
    """Stop the run with a login button unless login is off or the visitor is logged in;
    for a logged-in visitor, put a log-out button in the sidebar."""
    if not state.login_required():
        return
    if st.user.get("is_logged_in") is True:  # absent when [auth] is not configured
        who = st.user.get("email") or st.user.get("name") or "signed in"
        st.sidebar.caption(f"Signed in as {md_escape(who)}")
        if st.sidebar.button("Log out", key="logout", help="Forget this browser's login."):
            st.logout()
        return
    st.title("Blendscope")
    problem = _configured()
    if problem is not None:
        st.error(f"`{state.ENV_REQUIRE_LOGIN}` is set but login is not configured: "
                 f"{md_escape(problem)}. The dashboard stays closed until it is.")
    else:
        st.info("Log in to open the dashboard.")
        if st.button("Log in", key="login", type="primary",
                     help="Sign in with the organisation's identity provider."):
            st.login()
    st.stop()
