"""Charts where a registrar would rather look than read (统计图表): credits by category, pass
rates, enrolments per month, drawn as plain SVG on the server.

Server-side SVG rather than a charting plugin: datasette-vega, the Datasette family's charting
plugin, was last released in 2018 and draws in the browser from a chart each user configures;
these three charts are fixed questions, and an SVG made here needs no script, no network and no
plugin, prints and screenshots as it is, and can be checked by a plain HTTP test.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from creditledger.domain import Category
from creditledger.portal.metadata import DATABASE

BAR = 22
"""Height of one bar (px)."""
LABEL_WIDTH = 260
PLOT_WIDTH = 420

CHARTS: tuple[tuple[str, str, str, str], ...] = (
    ("credits-by-category", "各类别学分 · Credits recognised by category", "credits",
     "SELECT category, SUM(CASE WHEN status = 'recognised' THEN credits_cents ELSE 0 END) "
     "/ 100.0 FROM achievements GROUP BY category ORDER BY category"),
    ("pass-rates", "证书考核通过率 · Pass rates by certificate and level", "%",
     "SELECT certificate_code || ' ' || level, SUM(passed) * 100.0 / COUNT(*) FROM sittings "
     "GROUP BY certificate_code, level ORDER BY certificate_code, level"),
    ("enrolments-per-month", "每月选课 · Alliance enrolments per month", "enrolments",
     "SELECT substr(requested_on, 1, 7), COUNT(*) FROM alliance_enrolments "
     "GROUP BY 1 ORDER BY 1"),
)
"""Each chart: its id, title, unit and the query giving (label, value) rows."""

_ZH = {c.value: f"{c.zh} {c.value}" for c in Category}


def bar_chart(chart_id: str, title: str, unit: str,
              rows: Sequence[tuple[str, float]]) -> str:
    """A horizontal bar chart as an SVG element: one labelled bar per row, its value written
    beside it; a chart with no rows says so instead of drawing nothing."""
    height = BAR * max(len(rows), 1) + 40
    top = max((value for _, value in rows), default=0) or 1
    parts = [f'<svg id="{chart_id}" class="chart" role="img" xmlns="http://www.w3.org/2000/svg" '
             f'width="{LABEL_WIDTH + PLOT_WIDTH + 140}" height="{height}" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<text x="0" y="16" font-weight="bold" font-size="14">{escape(title)}</text>']
    if not rows:
        parts.append('<text x="0" y="40" font-size="13" fill="#666">no data yet · 暂无数据'
                     '</text>')
    for i, (label, value) in enumerate(rows):
        y = 28 + i * BAR
        width = round(PLOT_WIDTH * value / top, 1)
        shown = f"{value:g} {unit}" if unit != "%" else f"{value:.1f}%"
        parts.append(
            f'<g class="bar" data-label="{escape(label)}" data-value="{value:g}">'
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end" font-size="13">'
            f'{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{width}" height="{BAR - 6}" '
            f'fill="#3b6ea8"/>'
            f'<text x="{LABEL_WIDTH + width + 6}" y="{y + 15}" font-size="13">{escape(shown)}'
            f'</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def chart_rows(chart_id: str, rows: Sequence[Sequence[Any]]) -> list[tuple[str, float]]:
    """A query's rows as (label, value), categories named in Chinese too."""
    labelled = _ZH if chart_id == "credits-by-category" else {}
    return [(labelled.get(str(r[0]), str(r[0] or "—")), float(r[1] or 0)) for r in rows]


PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>统计图表 · Charts</title>
<link rel="stylesheet" href="/-/static/app.css"></head>
<body><section class="content"><p class="crumbs"><a href="/">学分银行 门户 home</a></p>
<h1>统计图表 · Charts</h1><p>Drawn from the read models as they are now; reload for the latest.
The figures behind each chart are the canned queries of <a href="/{database}">学分查询</a>.</p>
{charts}</section></body></html>"""


async def charts_page(datasette: Any) -> Any:
    """The charts page (``/-/charts``), every chart drawn from the views as they are now."""
    from datasette.utils.asgi import Response

    db = datasette.get_database(DATABASE)
    drawn = []
    for chart_id, title, unit, sql in CHARTS:
        result = await db.execute(sql)
        chart = bar_chart(chart_id, title, unit, chart_rows(chart_id, result.rows))
        drawn.append(f"<figure>{chart}</figure>")
    return Response.html(PAGE.format(database=DATABASE, charts="\n".join(drawn)))
