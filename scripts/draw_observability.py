"""Draw the picture of docs/observability.md from a real run's stats().

    python3 scripts/draw_observability.py [docs/pictures]

``request-latency.svg``: a session made with ``stats=True`` sends a mix of
requests to the test suite's local servers (tests/servers/: the fault
server over plain http, the TLS server over https): quick answers on kept
connections, answers that trickle in over tens or hundreds of milliseconds,
and new connections every so often. Then one ``session.stats()`` snapshot
is drawn, nothing else:

* top, the request-duration histogram with the engine's buckets (the
  OpenTelemetry boundaries), all origins and statuses together, the bar
  heights on a log scale with the counts written above;
* below, for each origin, where the mean request's time went: DNS, connect
  and TLS (paid by the requests that opened a connection, spread over all),
  the wait for the first byte, and the rest (sending the request and
  reading the body), each the phase's total over the request count.

The standard library and requestx only (trustme for the TLS server's
certificates, as in the test suite); the SVG is written by hand.
"""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from servers.fault import FaultServer  # noqa: E402
from servers.tls import TLSMaterials, TLSServer  # noqa: E402

import requestx  # noqa: E402

BLUE, GREY = "#2f5d8a", "#555555"
PHASE_COLOURS = {
    "dns": "#8e6fb5",
    "connect": "#d08a2c",
    "tls": "#b03a2e",
    "first_byte": "#2f5d8a",
    "rest": "#7fa7c9",
}
PHASE_NAMES = {
    "dns": "DNS",
    "connect": "connect",
    "tls": "TLS",
    "first_byte": "wait (first byte)",
    "rest": "send + transfer",
}


def run() -> dict[str, Any]:
    """A mix of requests against local servers; the session's stats()."""
    with tempfile.TemporaryDirectory() as tmp:
        materials = TLSMaterials(tmp)
        with FaultServer() as plain, TLSServer(materials) as secure:
            session = requestx.Session(stats=True)
            session.verify = materials.ca_file
            for i in range(400):
                if i % 40 == 0:
                    session.close()  # the next requests open new connections
                session.get(plain.url + "/ok")
                if i % 4 == 0:
                    session.get(secure.url + "/ok")
                if i % 5 == 0:
                    session.get(plain.url + "/drip?n=3&interval=0.004")
                if i % 25 == 0:
                    session.get(plain.url + "/drip?n=4&interval=0.03")
                if i % 100 == 0:
                    session.get(plain.url + "/drip?n=3&interval=0.2")
            snapshot = session.stats()
    assert snapshot is not None
    return dict(snapshot)


def text(x: float, y: float, value: str, **attrs: Any) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(value)}</text>'


def bucket_label(upper: float) -> str:
    return f"{upper * 1000:g} ms" if upper < 1 else f"{upper:g} s"


def draw(snapshot: dict[str, Any]) -> str:
    width, left = 800, 70
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="560" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="560" fill="#ffffff"/>',
    ]
    # the histogram ---------------------------------------------------------
    bounds = snapshot["boundaries"]
    counts = [0] * (len(bounds) + 1)
    total_count = 0
    total_sum = 0.0
    for series in snapshot["requests"]:
        counts = [a + b for a, b in zip(counts, series["buckets"])]
        total_count += series["count"]
        total_sum += series["sum"]
    svg.append(
        text(
            left,
            28,
            f"Request duration: {total_count} requests, mean "
            f"{total_sum / max(total_count, 1) * 1000:.1f} ms (session.stats())",
            font_weight="bold",
            font_size="14",
        )
    )
    top, plot_h = 50, 180
    bar_w = (width - left - 30) / len(counts)
    # a log scale: a few slow requests stay visible beside hundreds of fast ones
    biggest = math.log10(max(counts) + 1) or 1.0
    svg.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 30}" '
        f'y2="{top + plot_h}" stroke="{GREY}"/>'
    )
    labels = [f"≤ {bucket_label(b)}" for b in bounds] + [f"> {bucket_label(bounds[-1])}"]
    for i, (count, label) in enumerate(zip(counts, labels)):
        h = plot_h * math.log10(count + 1) / biggest
        x = left + i * bar_w
        svg.append(
            f'<rect x="{x + 3:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 6:.1f}" '
            f'height="{h:.1f}" fill="{BLUE}"/>'
        )
        if count:
            svg.append(text(x + bar_w / 2, top + plot_h - h - 4, str(count), text_anchor="middle"))
        svg.append(
            text(
                x + bar_w / 2,
                top + plot_h + 14,
                label,
                text_anchor="end",
                font_size="10",
                transform=f"rotate(-40 {x + bar_w / 2:.1f} {top + plot_h + 14})",
            )
        )
    svg.append(
        text(
            left - 40,
            top + plot_h / 2,
            "requests (log scale)",
            text_anchor="middle",
            fill=GREY,
            transform=f"rotate(-90 {left - 40} {top + plot_h / 2})",
        )
    )

    # the phases ------------------------------------------------------------
    y0 = 330
    svg.append(
        text(
            left,
            y0,
            "Where a request's time goes, per origin (each phase's total / requests)",
            font_weight="bold",
            font_size="14",
        )
    )
    rows = []
    for conn in snapshot["connections"]:
        origin = conn["origin"]
        reqs = [r for r in snapshot["requests"] if r["origin"] == origin]
        n = sum(r["count"] for r in reqs)
        duration = sum(r["sum"] for r in reqs)
        if not n:
            continue
        sums = {
            p["phase"]: p["sum"]
            for p in snapshot["phases"]
            if p["origin"] == origin and p["phase"] != "queue"
        }
        new = next(
            (
                p["count"]
                for p in snapshot["phases"]
                if p["origin"] == origin and p["phase"] == "dns"
            ),
            0,
        )
        parts = {name: sums.get(name, 0.0) / n for name in ("dns", "connect", "tls", "first_byte")}
        parts["rest"] = max(duration / n - sum(parts.values()), 0.0)
        rows.append((f"{conn['scheme']}://{conn['server_address']}", n, new, duration / n, parts))
    bar_left, bar_right = left + 170, width - 90
    for i, (label, n, new, mean, parts) in enumerate(rows):
        y = y0 + 30 + i * 62
        svg.append(text(left, y + 16, label, font_weight="bold"))
        svg.append(
            text(left, y + 32, f"{n} requests, {new} new connections", fill=GREY, font_size="10")
        )
        x = bar_left
        for name, seconds in parts.items():  # each bar is its own mean, 100 %
            w = (bar_right - bar_left) * seconds / (mean or 1.0)
            svg.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="24" '
                f'fill="{PHASE_COLOURS[name]}"/>'
            )
            if w > 56:
                svg.append(
                    text(
                        x + w / 2,
                        y + 16,
                        f"{seconds * 1000:.2f} ms",
                        text_anchor="middle",
                        fill="#ffffff",
                        font_size="11",
                    )
                )
            x += w
        svg.append(text(x + 6, y + 16, f"= {mean * 1000:.2f} ms", font_size="11"))
    # legend
    y = y0 + 30 + len(rows) * 62 + 10
    x = float(bar_left)
    for name, colour in PHASE_COLOURS.items():
        svg.append(f'<rect x="{x:.1f}" y="{y}" width="12" height="12" fill="{colour}"/>')
        svg.append(text(x + 16, y + 10, PHASE_NAMES[name], font_size="11"))
        x += 24 + 7 * len(PHASE_NAMES[name])
    svg.append(
        text(
            left,
            y + 36,
            "DNS, connect and TLS are paid only by requests that open a connection; "
            "here they are spread over every request.",
            fill=GREY,
            font_size="10",
        )
    )
    svg.append("</svg>")
    return "\n".join(svg) + "\n"


def main() -> int:
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "pictures"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "request-latency.svg"
    out.write_text(draw(run()), encoding="utf-8")
    print(f"{out}: drawn from session.stats()")
    return 0


if __name__ == "__main__":
    sys.exit(main())
