"""Blendscope dashboard: ``streamlit run app.py``.

Navigation only; the pages live in ``ui/pages/``, caches and state keys in ``ui/state.py``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import auth, sidebar, state

# a local icon: a Material Symbols name would be fetched from a font CDN (fails offline)
st.set_page_config(page_title="Blendscope", page_icon=str(Path(__file__).parent / "ui" / "assets"
                                                         / "blendscope.png"), layout="wide")
auth.gate()  # BLENDSCOPE_REQUIRE_LOGIN=1: nothing below runs until the visitor logs in

PAGES = {
    "overview": ("Overview", ":material/home:"),
    "recommendations": ("Recommendations", ":material/format_list_numbered:"),
    "explain": ("Explain", ":material/waterfall_chart:"),
    "whatif": ("What-if", ":material/science:"),
    "tradeoffs": ("Trade-offs", ":material/scatter_plot:"),
    "global": ("Global", ":material/bar_chart:"),
    "segments": ("Segments", ":material/groups:"),
    "reports": ("Reports", ":material/description:"),
    "health": ("Model health", ":material/monitor_heart:"),
    "feedback": ("Feedback", ":material/flag:"),
    "runs": ("Runs", ":material/history:"),
    "data": ("Data", ":material/database:"),
}
pages = {slug: st.Page(f"ui/pages/{slug}.py", title=title, icon=icon,
                       url_path="home" if slug == "overview" else slug,
                       default=slug == "overview")
         for slug, (title, icon) in PAGES.items()}
# the default page is served at "/"; a hidden twin serves "/overview" too, so a link to any
# page's path works (Streamlit would otherwise show "Page not found")
home = st.Page("ui/pages/overview.py", title=PAGES["overview"][0], icon=PAGES["overview"][1],
               url_path="overview", visibility="hidden")
pg = st.navigation([*pages.values(), home])
slug = next(s for s, p in pages.items() if p.title == pg.title)

if state.restore_url():
    wanted = state.url_value("page")
    if wanted in pages and wanted != slug:
        st.switch_page(pages[wanted])

view = sidebar.render()
pg.run()
state.write_url(state.current_view() if view is not None else None, slug)
