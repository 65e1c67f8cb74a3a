"""The partnership's report as one self-contained HTML file (issue 14 item 2).

No script, no external asset: styles inline, charts as inline SVG drawn by matplotlib (its SVG
backend, imported here only when a chart is drawn: never by the core's hot paths). Printable on A4
(print CSS); accessible: headings in order, every chart an image with a title and a description
and the table it draws just below it (the table alternative), header cells scoped. Every value
is escaped (the partnership's name and the protocol's theme labels come from a file).
"""

from __future__ import annotations

import io
import math
import re
from html import escape

from bot.report_tables import Count, Report, Share, Table

STYLE = """
body { font-family: Arial, Helvetica, sans-serif; color: #1b1b1b; margin: 2em auto; max-width: 60em;
       line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; border-bottom: 2px solid #1d4f91; margin-top: 2em; }
h3 { font-size: 1.05em; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0 0.3em; font-size: 0.9em; }
caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
th, td { border: 1px solid #9a9a9a; padding: 0.25em 0.5em; text-align: right; vertical-align: top; }
th[scope=row], thead th:first-child { text-align: left; }
thead th { background: #e8eef7; }
tr.total th, tr.total td { font-weight: bold; border-top: 2px solid #1b1b1b; }
.note { font-size: 0.85em; color: #3b3b3b; }
.statements { background: #f3f6fa; border-left: 4px solid #1d4f91; padding: 0.5em 1em; }
figure { margin: 1em 0; } svg { max-width: 100%; height: auto; }
@page { size: A4; margin: 15mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { page-break-after: avoid; break-after: avoid; }
  table, figure { page-break-inside: avoid; break-inside: avoid; }
  thead { display: table-header-group; }
}
"""

#: Okabe and Ito's palette: told apart with the common colour vision deficiencies.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")


def render_html(report: Report) -> str:
    title = f"{report.partnership}: serious child safeguarding incidents report"
    scope = "shared outside the partnership" if report.shared else "internal to the partnership"
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{escape(title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>", "<main>",
        f"<h1>{escape(title)}</h1>",
        f"<p>Period {escape(report.period_from)} to {escape(report.period_to)} (financial years "
        f"{escape(', '.join(report.years))}); made {escape(report.generated_at)}; {escape(scope)}.</p>",
        '<div class="statements"><h2 id="about">About these figures</h2><ul>',
        *(f"<li>{escape(s)}</li>" for s in report.statements), "</ul></div>",
    ]
    for section in report.sections:
        parts.append(f'<section aria-labelledby="s-{escape(section.key)}">')
        parts.append(f'<h2 id="s-{escape(section.key)}">{escape(section.title)}</h2>')
        parts.append(f"<p>{escape(section.intro)}</p>")
        for table in section.tables:
            if table.chart is not None:
                parts.append(_figure(report, table))
            parts.append(_table(report, table))
        parts.append("</section>")
    parts += ["</main>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _table(report: Report, table: Table) -> str:
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in table.columns)
    body = []
    for i, row in enumerate(table.rows):
        total = table.total_row and i == len(table.rows) - 1
        first, *rest = row
        cells = "".join(f"<td>{escape(report.cell_text(c))}</td>" for c in rest)
        cls = ' class="total"' if total else ""
        body.append(f'<tr{cls}><th scope="row">{escape(report.cell_text(first))}</th>{cells}</tr>')
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return (f'<table id="t-{escape(table.key)}"><caption>{escape(table.title)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{note}")


def chart_values(table: Table) -> tuple[list[str], list[tuple[str, list[float]]]]:
    """The bars a chart draws: its rows (not the total) and, per series, a value or NaN (nothing
    drawn: no data, or suppressed when shared)."""
    assert table.chart is not None
    rows = table.rows[:-1] if table.total_row else table.rows
    labels = [str(r[0]) for r in rows]
    series = []
    for index in table.chart.series:
        values = []
        for row in rows:
            cell = row[index]
            if isinstance(cell, Count) and not cell.suppressed:
                values.append(float(cell.n))
            elif isinstance(cell, Share) and not cell.suppressed and cell.percent is not None:
                values.append(cell.percent)
            else:
                values.append(math.nan)
        series.append((table.columns[index], values))
    return labels, series


def _figure(report: Report, table: Table) -> str:
    labels, series = chart_values(table)
    desc = (f"Bar chart of {table.title.lower()}: {', '.join(name for name, _ in series)} for each of "
            f"{len(labels)} rows. The same figures are in the table below.")
    if report.shared:
        desc += " Suppressed values are not drawn."
    svg = chart_svg(labels, series, table.chart.ylabel if table.chart else "")
    svg = _label_svg(svg, table.key, table.title, desc)
    return f"<figure>{svg}</figure>"


def chart_svg(labels: list[str], series: list[tuple[str, list[float]]], ylabel: str) -> str:
    """Grouped bars as an SVG document's ``<svg>`` element (text kept as text)."""
    import matplotlib  # lazily: only a report draws (libraries.md: matplotlib, SVG backend)
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "review-bot-report",
                                "font.family": "sans-serif", "font.size": 9}):
        fig = Figure(figsize=(7.2, 2.6 + 0.05 * len(labels)))
        FigureCanvasSVG(fig)
        ax = fig.add_subplot()
        width = 0.8 / max(len(series), 1)
        for i, (name, values) in enumerate(series):
            xs = [x + (i - (len(series) - 1) / 2) * width for x in range(len(labels))]
            ax.bar(xs, values, width, label=name, color=COLOURS[i % len(COLOURS)])
        ax.set_xticks(range(len(labels)), [_short(label) for label in labels], rotation=20, ha="right")
        ax.set_ylabel(ylabel)
        if ylabel.startswith("%"):
            ax.set_ylim(0, 100)
        ax.spines[["top", "right"]].set_visible(False)
        if len(series) > 1:  # below the chart, where it hides no bar
            ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3),
                      ncol=min(len(series), 4))
        fig.tight_layout()
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None, "Format": None,
                                                  "Type": None})
    text = out.getvalue()
    return text[text.index("<svg"):]


def _short(label: str) -> str:
    return label if len(label) <= 32 else label[:30] + "…"


def _label_svg(svg: str, key: str, title: str, desc: str) -> str:
    """The chart as an image with a title and a description (screen readers, hover)."""
    ids = f"c-{escape(key)}-title c-{escape(key)}-desc"
    opening = re.match(r"<svg\b[^>]*>", svg)
    assert opening is not None
    head = opening.group(0)[:-1] + f' role="img" aria-labelledby="{ids}">'
    return (head + f'<title id="c-{escape(key)}-title">{escape(title)}</title>'
            f'<desc id="c-{escape(key)}-desc">{escape(desc)}</desc>' + svg[opening.end():])
