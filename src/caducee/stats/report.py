"""The yearly report: a PDF of the network's figures and charts (matplotlib, no display).

French first, English second on every page. Pure rendering: it takes a
:class:`~caducee.stats.dashboard.Dashboard` and returns the PDF's bytes.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")  # no display: before pyplot is imported

import matplotlib.pyplot as plt
from matplotlib.backends.backend_pdf import PdfPages

from caducee.stats.dashboard import Dashboard
from caducee.stats.labels import TYPE_LABELS

__all__ = ["render_pdf"]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f} %"


def _number(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def render_pdf(dashboard: Dashboard, *, operator: str, year: int | None = None) -> bytes:
    """The yearly report as PDF bytes (four pages)."""
    h = dashboard.headline
    out = io.BytesIO()
    metadata = {"Title": f"Caducée — rapport annuel {year or ''}".strip(), "Author": operator}
    with PdfPages(out, metadata=metadata) as pdf:
        fig = plt.figure(figsize=(8.27, 11.69))
        fig.text(0.08, 0.93, f"Rapport annuel du réseau / Network yearly report {year or ''}",
                 fontsize=16, weight="bold")  # fmt: skip
        fig.text(0.08, 0.90, f"{operator} — arrêté au / as of {h.day or '—'}", fontsize=10)
        lines = [
            ("Utilisateurs actifs (30 j) / Active users (30 d)", _number(h.active_users)),
            ("Évolution sur un an / Year on year", _percent(h.active_users_growth)),
            ("Part d'utilisateurs quotidiens / Daily users", f"{h.daily_users_share or 0:.1f} %"),
            ("Messages sur 12 mois / Messages, 12 months", _number(h.messages_12_months)),
            ("Évolution des messages / Messages year on year", _percent(h.messages_growth)),
            ("Messages depuis le début / Messages in all", _number(h.messages_total)),
            ("Laboratoires sur le réseau / Labs on the network",
             f"{h.labs_on_network} / {h.labs_registered} ({h.labs_share or 0:.1f} %)"),
        ]  # fmt: skip
        for i, (label, value) in enumerate(lines):
            fig.text(0.08, 0.84 - i * 0.04, label, fontsize=11)
            fig.text(0.78, 0.84 - i * 0.04, value, fontsize=11, weight="bold")
        ax = fig.add_axes((0.12, 0.08, 0.8, 0.4))
        types = list(h.active_by_type)
        ax.barh([TYPE_LABELS.get(t, t) for t in types], [h.active_by_type[t] for t in types])
        ax.set_title("Utilisateurs actifs par type / Active users by type")
        fig.subplots_adjust(left=0.4)
        pdf.savefig(fig)
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(11.69, 8.27))
        months = list(dashboard.monthly_messages)
        kinds = sorted({t for m in dashboard.monthly_messages.values() for t in m})
        bottom = [0] * len(months)
        for kind in kinds:
            values = [dashboard.monthly_messages[m].get(kind, 0) for m in months]
            ax.bar(months, values, bottom=bottom, label=TYPE_LABELS.get(kind, kind))
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_title("Messages par mois et type d'expéditeur / Messages by month and sender type")
        if kinds:
            ax.legend(fontsize=8)
        ax.tick_params(axis="x", rotation=45)
        pdf.savefig(fig)
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(11.69, 8.27))
        series = dashboard.active_users_series
        ax.plot([d for d, _ in series], [n for _, n in series])
        ax.set_title("Utilisateurs actifs sur 30 jours / Active users over 30 days")
        step = max(1, len(series) // 12)
        ax.set_xticks([d for d, _ in series][::step])
        ax.tick_params(axis="x", rotation=45)
        pdf.savefig(fig)
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(11.69, 8.27))
        regions = list(dashboard.establishments)
        kinds = sorted({t for r in dashboard.establishments.values() for t in r})
        left = [0] * len(regions)
        for kind in kinds:
            values = [dashboard.establishments[r].get(kind, 0) for r in regions]
            ax.barh(regions, values, left=left, label=TYPE_LABELS.get(kind, kind))
            left = [a + v for a, v in zip(left, values, strict=True)]
        ax.set_title("Établissements par région et type / Establishments by region and type")
        if kinds:
            ax.legend(fontsize=8)
        fig.subplots_adjust(left=0.25)
        pdf.savefig(fig)
        plt.close(fig)
        info = pdf.infodict()
        info["CreationDate"] = datetime.now(UTC)
    return out.getvalue()
