"""HTML report: one self-contained, offline, printable file.

Charts are inline SVG drawn here (no JavaScript, no network URL anywhere); every
dataset string goes through Jinja2 autoescaping or :func:`markupsafe.escape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jinja2
from markupsafe import Markup, escape

from explain._display import format_contribution, format_value
from explain._palette import task_colour
from explain._plots import NEGATIVE, POSITIVE, waterfall_steps
from explain._types import Attribution
from explain.report._build import ExplanationReport
from explain.report._pdp_charts import pdp_caption, pdp_svg
from explain.report._summary import feature_means, segment_display, task_label, task_shares
from recsys.tasks import TaskSpec

__all__ = ["health_display", "render_html", "waterfall_svg"]

_ROW, _LABEL, _BARS, _VALUE = 18, 250, 260, 64
_MODELS = "Models (test window)"


def waterfall_svg(attr: Attribution, max_features: int = 8) -> Markup:
    """Draw ``attr`` as an inline ``<svg>`` waterfall (escaped labels, no external reference)."""
    steps = waterfall_steps(attr, max_features)
    ends = [0.0] + [s.start for s in steps] + [s.end for s in steps]
    lo, hi = min(ends), max(ends)
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return _LABEL + (v - lo) / span * _BARS

    width, height = _LABEL + _BARS + _VALUE, _ROW * len(steps) + 6
    parts = [f'<svg class="waterfall" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="waterfall chart">']
    parts.append(f'<line x1="{x(0.0):.1f}" y1="0" x2="{x(0.0):.1f}" y2="{height}" '
                 'stroke="#bbb" stroke-width="1"/>')
    for r, s in enumerate(steps):
        y = r * _ROW + 3
        a, b = sorted((x(s.start), x(s.end)))
        label = s.short_label(40)  # a long feature name is cut, its value kept
        value = format_value(round(s.end, 4)) if s.kind in ("base", "total") \
            else format_contribution(s.delta)
        weight = ' font-weight="bold"' if s.kind == "total" else ""
        parts.append(f'<text x="{_LABEL - 6}" y="{y + 12}" text-anchor="end" '
                     f'font-size="11"{weight}>{escape(label)}</text>')
        parts.append(f'<rect x="{a:.1f}" y="{y + 2}" width="{max(b - a, 1.0):.1f}" '
                     f'height="{_ROW - 6}" fill="{s.color}"/>')
        parts.append(f'<text x="{_LABEL + _BARS + 4}" y="{y + 12}" font-size="11"{weight}>'
                     f'{escape(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ report.title }}</title>
<style>
body { font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: #222; margin: 24px auto;
       max-width: 1100px; padding: 0 16px; font-size: 14px; line-height: 1.4; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; margin-top: 28px;
border-bottom: 2px solid {{ positive }}; padding-bottom: 3px; } h3 { font-size: 15px; margin: 0 0 6px; }
.meta, .muted { color: #666; } .id { color: #888; font-weight: normal; font-size: 12px; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f5f8; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 12px; word-break: break-all; }
td.title { min-width: 170px; }
.item { border: 1px solid #ddd; border-radius: 6px; padding: 10px 12px; margin: 10px 0;
        break-inside: avoid; page-break-inside: avoid; }
.cols { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.reasons { margin: 4px 0 8px; padding-left: 20px; }
.pos { color: {{ positive }}; } .neg { color: {{ negative }}; }
.sw { display: inline-block; width: 10px; height: 10px; margin-right: 6px; }
nav ol { columns: 4; font-size: 13px; }
@page { size: A4; margin: 12mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; } nav { display: none; }
  section.user { break-before: page; page-break-before: always; }
  a { color: inherit; text-decoration: none; }
}
</style>
</head>
<body>
<header>
<h1>{{ report.title }}</h1>
<p class="meta">{{ report.selection or "selected users" }} · {{ report.users|length }} user(s) ·
top {{ prov.k }} · transform {{ prov.transform }} · built {{ prov.created_at }}</p>
</header>
<section id="provenance">
<h2>Provenance</h2>
<table>
<tr><th>Blendscope</th><td>{{ prov.package_version }} (project trained with {{ prov.trained_with }},
{{ prov.project_created_at }})</td></tr>
<tr><th>Project</th><td>{{ prov.project }}</td></tr>
<tr><th>Data fingerprint</th><td><code>{{ prov.data_fingerprint }}</code></td></tr>
{% for path, digest in prov.model_files.items() %}
<tr><th>{{ path }}</th><td><code>{{ digest }}</code></td></tr>
{% endfor %}
<tr><th>Weights</th><td>{% for t, w in prov.weights.items() %}{{ t }} = {{ w }}{% if task_dirs[t] == "minimize" %} (minimised){% endif %}{% if not loop.last %} · {% endif %}{% endfor %}</td></tr>
<tr><th>Transform</th><td>{{ prov.transform }}</td></tr>
</table>
</section>
<section id="health">
<h2>Model health (test window)</h2>
{% if health %}
<p class="muted">Each model's metrics beside the best trivial baseline on the same rows (the
item's historical rate or mean, the global one, random order), with {{ health_head[3] }}s over
{{ report.health.n_bootstrap }} resamples of users; lift &gt; 0 means better than the baseline.</p>
<table><tr>{% for c in health_head %}<th{% if loop.index > 2 %} class="num"{% endif %}>{{ c }}</th>{% endfor %}</tr>
{% for row in health_rows %}<tr>{% for v in row %}<td{% if loop.index > 2 %} class="num"{% endif %}>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% if report.health.warnings %}<ul class="warnings">{% for w in report.health.warnings %}
<li><code>{{ w.code }}</code> {{ w.task or "all tasks" }}: {{ w.message }}</li>{% endfor %}</ul>
{% else %}<p>No health warnings.</p>{% endif %}
{% else %}<p>This project was trained without health checks; retrain it to see baselines,
confidence intervals and warnings.</p>{% endif %}
</section>
<section id="metrics">
<h2>Metrics at these weights</h2>
<p class="muted">Cells show the value and its 95% confidence interval over users.</p>
{% if report.segment %}{% set seg = report.segment %}
<h3>{{ seg.segment.label() }} ({{ "{:,}".format(seg.ranking.users) }} users, {{ "{:,}".format(seg.ranking.test_users) }} with test exposures) beside all users</h3>
<p class="muted">Each user's logged test exposures re-ranked by the blend. Intervals: 95% bootstrap
over the users behind each value (users with a test positive for NDCG, with both classes for
GAUC). For a task marked lower is better the blend should rank its positives low.</p>
<table class="segment"><tr>{% for c in segment_head %}<th{% if loop.index > 2 %} class="num"{% endif %}>{{ c }}</th>{% endfor %}</tr>
{% for row in segment_rows %}<tr>{% for v in row %}<td{% if loop.index > 2 %} class="num"{% endif %}>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% endif %}
{% for name, table in metric_tables %}
<h3>{{ name }}{% if report.segment %} — all users{% endif %}</h3>
<table><tr><th>task</th>{% for c in table.columns %}<th class="num">{{ c }}</th>{% endfor %}</tr>
{% for task, row in table.rows %}<tr><td>{{ task }}</td>{% for v in row %}<td class="num">{{ v }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% endfor %}
<p>Coverage {{ mfmt(metrics.coverage) }} · diversity {{ mfmt(metrics.diversity) }}{% if metrics.get("diversity_reason") %} ({{ metrics.get("diversity_reason") }}){% endif %} ·
novelty {{ mfmt(metrics.novelty) }} bits</p>
</section>
<section id="summary">
<h2>Summary of the {{ report.users|length }} listed user(s)</h2>
<div class="cols">
<table><tr><th>task</th><th class="num">mean share of the score</th><th class="num">of |score terms|</th></tr>
{% for s in shares %}<tr><td><span class="sw" style="background:{{ colours[loop.index0] }}"></span>{{ task_label(s.task) }}</td>
<td class="num">{{ contrib(s.share) }}</td><td class="num">{{ pct(s.fraction) }}</td></tr>{% endfor %}
</table>
<table><tr><th>top features of the blend</th><th class="num">mean contribution</th><th class="num">mean |contribution|</th></tr>
{% for f in features %}<tr><td>{{ f.label }} <span class="id">{{ f.feature }}</span></td>
<td class="num {{ 'pos' if f.mean >= 0 else 'neg' }}">{{ contrib(f.mean) }}</td><td class="num">{{ fmt(f.mean_abs) }}</td></tr>{% endfor %}
</table>
</div>
</section>
{% if report.partial_dependence %}
<section id="partial-dependence">
<h2>Partial dependence of the {{ report.partial_dependence|length }} most important features</h2>
<p class="muted">{{ pdp_caption }}</p>
{% for p in report.partial_dependence %}
<h3>{{ p.feature.description }} <span class="id">{{ p.feature.name }}</span></h3>
{{ pdp_svg(p, report.tasks) }}
{% endfor %}
</section>
{% endif %}
{% if report.users|length > 1 %}
<nav><h2>Users</h2><ol>{% for u in report.users %}<li><a href="#user-{{ loop.index }}">{{ u.user_id }}</a></li>{% endfor %}</ol></nav>
{% endif %}
{% for u in report.users %}
{% set uidx = loop.index %}
<section class="user" id="user-{{ uidx }}">
<h2>User {{ u.user_id }}</h2>
{% if u.attributes %}<p class="muted">{% for k, v in u.attributes.items() %}{{ k }}: {{ fmt(v) }}{% if not loop.last %} · {% endif %}{% endfor %}</p>{% endif %}
{% if not u.items %}<p>No recommendations (no valid candidates).</p>{% else %}
<table>
<tr><th class="num">#</th><th>item</th><th class="num">score</th>{% for t in tasks %}<th class="num">{{ t }} share</th>{% endfor %}<th>top attributions</th></tr>
{% for e in u.items %}
<tr><td class="num">{{ e.rank }}</td><td class="title"><a href="#u{{ uidx }}-i{{ loop.index }}">{{ e.title }}</a></td>
<td class="num">{{ fmt(e.score) }}</td>
{% for t in tasks %}<td class="num">{{ pct(e.tasks[t].share_fraction) }}</td>{% endfor %}
<td>{% for f, v, c in e.attribution.top(3) %}<span class="{{ 'pos' if c >= 0 else 'neg' }}">{{ f }} {{ contrib(c) }}</span>{% if not loop.last %}, {% endif %}{% endfor %}</td></tr>
{% endfor %}
</table>
{% for e in u.items %}
<article class="item" id="u{{ uidx }}-i{{ loop.index }}">
<h3>#{{ e.rank }} {{ e.title }} <span class="id">{{ e.item_id }}</span> · score {{ fmt(e.score) }}</h3>
<ul class="reasons">{% for r in e.reasons %}<li>{{ r }}</li>{% endfor %}</ul>
<div class="cols">
<div>{{ svg(e.attribution) }}</div>
<table>
<tr><th>task</th><th class="num">prediction</th><th class="num">{{ prov.transform }}</th><th class="num">weight</th><th class="num">share</th></tr>
{% for t in tasks %}{% set te = e.tasks[t] %}
<tr><td>{{ t }}</td><td class="num">{{ fmt(te.prediction) }}</td><td class="num">{{ fmt(te.transformed) }}</td>
<td class="num">{{ fmt(te.weight) }}</td><td class="num">{{ fmt(te.share) }} ({{ pct(te.share_fraction) }})</td></tr>
{% endfor %}
</table>
</div>
</article>
{% endfor %}
{% endif %}
</section>
{% endfor %}
<footer><p class="muted">Built by Blendscope {{ prov.package_version }}. Attributions are exact
TreeSHAP values rescaled through each task's score transform; base + attributions = score.</p></footer>
</body>
</html>
"""


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return format_value(float(f"{v:.4g}")) if abs(v) < 1e6 else format_value(v)
    return format_value(v)


def _mfmt(v: object) -> str:
    """Format a metric value; "n/a" when it is not available (None or NaN)."""
    if v is None or (isinstance(v, float) and v != v):
        return "n/a"
    return _fmt(v)


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%".replace("-", "\u2212")


def _cell(row: dict[str, Any], c: str) -> str:
    """Format a metric's value with its interval; "n/a" when it is not available."""
    if c not in row:
        return ""
    lo, hi = (row.get("ci") or {}).get(c) or (None, None)
    text = _mfmt(row[c])
    return text if lo is None or hi is None else f"{text} [{_mfmt(lo)}, {_mfmt(hi)}]"


def _metric_tables(metrics: dict[str, Any], *, with_ci: bool = True,
                   tasks: Sequence[TaskSpec] = ()) -> list[tuple[str, dict[str, Any]]]:
    """Return (title, {"columns", "rows"}) of each metrics block.

    In the blended-ranking table a minimised task (of ``tasks``) is marked lower is better.
    """
    out = []
    low = {t.name for t in tasks if t.direction == "minimize"}
    names = {"tasks": _MODELS,
             "ranking": "Blended ranking of each user's test exposures",
             "topk": "Top-K over candidates vs test positives"}
    for key, title in names.items():
        block = metrics.get(key) or {}
        cols = list(dict.fromkeys(c for row in block.values() for c, v in row.items()
                                  if not isinstance(v, dict) and not c.endswith("_reason")))
        rows = [(f"{t} (lower is better)" if key == "ranking" and t in low else t,
                 [_cell(row, c) if with_ci else (_mfmt(row[c]) if c in row else "")
                  for c in cols])
                for t, row in block.items()]
        if rows:
            out.append((title, {"columns": cols, "rows": rows}))
    return out


def health_display(report: ExplanationReport) -> tuple[list[str], list[list[str]]]:
    """Header and formatted rows of the model-health table (no rows without health)."""
    h = report.health
    level = f"{h.confidence:.0%} CI" if h is not None else "95% CI"
    head = ["task", "metric", "value", level, "baseline", "baseline value", "lift",
            f"lift {level}", "positives", "rows"]
    if h is None:
        return head, []

    def interval(lo: float, hi: float, signed: bool = False) -> str:
        if lo != lo or hi != hi:
            return "n/a"
        return f"[{lo:+.4f}, {hi:+.4f}]" if signed else f"[{lo:.4f}, {hi:.4f}]"

    def val(v: float) -> str:
        return "n/a" if v != v else f"{v:.4f}"

    rows = [[r.task, r.metric, val(r.value), interval(r.ci_low, r.ci_high),
             r.baseline_name or "–", val(r.baseline_value),
             "n/a" if r.lift != r.lift else f"{r.lift:+.4f}",
             interval(r.lift_ci_low, r.lift_ci_high, True), f"{r.n_positives:,}",
             f"{r.n_rows:,}"] for r in h.reports]
    return head, rows


def render_html(report: ExplanationReport) -> str:
    """Render the report as one self-contained HTML document."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(_TEMPLATE)
    head, rows = health_display(report)
    seg_head, seg_rows = segment_display(report)
    return template.render(
        segment_head=seg_head, segment_rows=seg_rows, shares=task_shares(report),
        features=feature_means(report), colours=[task_colour(k) for k in range(len(report.tasks))],
        task_label=lambda t: task_label(report, t), positive=POSITIVE, negative=NEGATIVE,
        report=report, prov=report.provenance, metrics=report.metrics,
        health=report.health is not None, health_head=head, health_rows=rows,
        metric_tables=[(title, table) for title, table in
                       _metric_tables(dict(report.metrics), tasks=report.tasks)
                       if report.health is None or title != _MODELS],  # in the health section
        tasks=report.task_names(),
        task_dirs={t.name: t.direction for t in report.tasks}, fmt=_fmt, mfmt=_mfmt, pct=_pct,
        contrib=format_contribution, svg=waterfall_svg, pdp_svg=pdp_svg,
        pdp_caption=pdp_caption(report.partial_dependence[0].n_pairs)
        if report.partial_dependence else "")
