"""Draw the pictures of docs/resilience.md from requestx's own policy code.

    python3 scripts/draw_resilience.py [docs/pictures]

``breaker-states.svg``: a CircuitBreaker's three states and what moves a
circuit between them, with the constructor's defaults read from the class.

``retry-timeline.svg``: one call with ``Retry(total=3, backoff_factor=0.5,
status_forcelist=[503])`` and ``Timeout(total=5)`` against a server that
answers 503, then 503 with ``Retry-After: 2``, then 200. The retry loop's own
``Attempts`` decides every wait; each one is checked against
``Retry.get_backoff_time`` and ``Retry.parse_retry_after`` so the labels say
why it is that long. Only the length of an attempt is made up (ATTEMPT_S).
The standard library only, besides requestx.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any, Optional
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requestx  # noqa: E402
from requestx.policy.call import Attempts  # noqa: E402

BLUE, RED, GREEN, GREY, AMBER = "#2f5d8a", "#b03a2e", "#2e7d4f", "#555555", "#b7791f"


def header(width: float, height: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        "<defs>"
        + "".join(
            f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
            f'fill="{colour}"/></marker>'
            for name, colour in (("blue", BLUE), ("red", RED), ("green", GREEN), ("grey", GREY))
        )
        + "</defs>",
    ]


def text(x: float, y: float, value: str, **attrs: Any) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(value)}</text>'


def lines(x: float, y: float, values: list[str], step: float = 15, **attrs: Any) -> list[str]:
    return [text(x, y + i * step, value, **attrs) for i, value in enumerate(values)]


def arrow(d: str, colour: str, name: str, dashed: bool = False) -> str:
    dash = ' stroke-dasharray="5 4"' if dashed else ""
    return (
        f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.6"{dash} '
        f'marker-end="url(#arrow-{name})"/>'
    )


# The breaker's states -------------------------------------------------------------


def breaker_states(out: Path) -> str:
    defaults = {
        name: p.default
        for name, p in inspect.signature(requestx.CircuitBreaker).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    statuses = ", ".join(str(s) for s in sorted(defaults["failure_statuses"]))
    width, height = 1040, 470
    box_w, box_h = 190, 86
    closed, opened, half = (70.0, 70.0), (700.0, 70.0), (385.0, 300.0)
    svg = header(width, height)

    def state(pos: tuple[float, float], name: str, colour: str, says: list[str]) -> None:
        x, y = pos
        svg.append(
            f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="10" fill="#ffffff" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        svg.append(
            text(
                x + box_w / 2,
                y + 24,
                name,
                text_anchor="middle",
                font_weight="bold",
                font_size="14",
                fill=colour,
            )
        )
        svg.extend(
            lines(x + box_w / 2, y + 44, says, 14, text_anchor="middle", font_size="11", fill=GREY)
        )

    state(closed, "closed", GREEN, ["attempts go through;", "consecutive failures", "are counted"])
    state(opened, "open", RED, ["every attempt refused:", "CircuitOpenError", "nothing is sent"])
    state(
        half,
        "half_open",
        AMBER,
        [
            f"half_open_max_calls ({defaults['half_open_max_calls']})",
            "probes at a time;",
            "the others refused",
        ],
    )

    # closed -> open, along the top
    y = closed[1] + 30
    svg.append(arrow(f"M {closed[0] + box_w} {y} L {opened[0]} {y}", RED, "red"))
    svg.extend(
        lines(
            (closed[0] + box_w + opened[0]) / 2,
            y - 26,
            [
                f"failure_threshold ({defaults['failure_threshold']}) failures in a row:",
                f"a transport error, or a status in failure_statuses ({statuses})",
            ],
            14,
            text_anchor="middle",
            fill=RED,
        )
    )
    # a success while closed: back to zero
    cx = closed[0] + box_w / 2
    svg.append(
        arrow(
            f"M {cx - 40} {closed[1]} C {cx - 60} {closed[1] - 50} {cx + 60} {closed[1] - 50} "
            f"{cx + 40} {closed[1]}",
            GREEN,
            "green",
        )
    )
    svg.append(
        text(
            cx,
            closed[1] - 44,
            "a success: the count goes back to 0",
            text_anchor="middle",
            fill=GREEN,
            font_size="11",
        )
    )
    # open -> half_open
    ox, oy = opened[0] + box_w / 2, opened[1] + box_h
    hx, hy = half[0] + box_w, half[1] + box_h / 2
    svg.append(arrow(f"M {ox} {oy} C {ox} {hy} {ox} {hy} {hx} {hy}", AMBER, "grey"))
    svg.extend(
        lines(
            ox + 14,
            oy + 40,
            [
                "the open time has passed",
                f"(recovery_timeout, {defaults['recovery_timeout']:g} s, at first);",
                "seen by the next attempt, state()",
                "or snapshot()",
            ],
            14,
            fill=GREY,
        )
    )
    # half_open -> open: a probe fails
    sx, sy = half[0] + box_w - 30, half[1]
    ex, ey = opened[0] + 30, opened[1] + box_h
    svg.append(
        arrow(f"M {sx} {sy} C {sx + 40} {sy - 70} {ex - 60} {ey + 40} {ex} {ey}", RED, "red")
    )
    svg.extend(
        lines(
            sx - 10,
            200,
            [
                "a probe fails: open time x2,",
                "times a jitter in [0.9, 1.1],",
                f"at most max_recovery_timeout ({defaults['max_recovery_timeout']:g} s)",
            ],
            14,
            text_anchor="end",
            fill=RED,
            font_size="11",
        )
    )
    # half_open -> closed
    sx, sy = half[0], half[1] + box_h / 2
    ex, ey = closed[0] + box_w / 2, closed[1] + box_h
    svg.append(arrow(f"M {sx} {sy} C {ex} {sy} {ex} {sy} {ex} {ey}", GREEN, "green"))
    svg.extend(
        lines(
            ex - 95,
            sy + 28,
            [
                f"success_threshold ({defaults['success_threshold']}) probes succeed:",
                "closed, open time back to recovery_timeout",
            ],
            14,
            fill=GREEN,
        )
    )
    # what is never counted, and the manual switches
    svg.extend(
        lines(
            30,
            height - 48,
            [
                "Never a failure: a 4xx, a cancellation, an error raised before anything was sent "
                "(the attempt is released; a probe gives its slot back).",
                "By hand: reset(key) closes a circuit (all of them with no key); "
                "force_open(key, seconds) opens one now.",
            ],
            16,
            fill=GREY,
            font_size="11",
        )
    )
    svg.append("</svg>")
    out.write_text("\n".join(svg) + "\n", encoding="utf-8")
    return f"{out}: 3 states, 5 transitions"


# A timeline of one call with retries ------------------------------------------------

RETRY: dict[str, Any] = {"total": 3, "backoff_factor": 0.5, "status_forcelist": [503]}
TOTAL = 5.0  # Timeout(total=...) of the call
ATTEMPT_S = 0.4  # how long each attempt takes: made up, the only number that is
SCRIPT: list[tuple[int, Optional[str]]] = [(503, None), (503, "2"), (200, None)]


class _Prep:
    """What Attempts reads of a prepared request."""

    url = "https://api.example.com/items"
    method = "GET"
    headers: dict[str, str] = {}
    body = None
    _body_position = None


class _Answer:
    """What Attempts reads of a response."""

    def __init__(self, status: int, retry_after: Optional[str]) -> None:
        self.status_code = status
        self.headers = {"Retry-After": retry_after} if retry_after is not None else {}

    def close(self) -> None:
        pass


def timeline() -> tuple[list[dict[str, Any]], requestx.Retry]:
    """Run the retry loop's decisions over SCRIPT: the attempts and waits."""
    policy = requestx.Retry(**RETRY)
    attempts = Attempts(_Prep(), policy, None, None)
    events: list[dict[str, Any]] = []
    clock = 0.0
    for n, (status, retry_after) in enumerate(SCRIPT, 1):
        attempts.begin()
        events.append(
            {
                "kind": "attempt",
                "n": n,
                "start": clock,
                "end": clock + ATTEMPT_S,
                "status": status,
                "retry_after": retry_after,
            }
        )
        clock += ATTEMPT_S
        wait = attempts.answered(_Answer(status, retry_after))
        if wait is None:
            break
        retry = attempts.retry  # the Retry after counting this answer
        backoff = retry.get_backoff_time()
        if retry_after is not None and retry.respect_retry_after_header:
            after = retry.parse_retry_after(retry_after)
            cause = f"Retry-After: {retry_after}"
            assert wait == after, (wait, after)
            note = f"(backoff would be {backoff:g} s)"
        else:
            cause = "backoff"
            assert wait == backoff, (wait, backoff)
            errors = len(retry.history)
            note = (
                "(none before the first retry)"
                if errors <= 1
                else f"({retry.backoff_factor:g} x 2^{errors - 1})"
            )
        events.append(
            {
                "kind": "wait",
                "start": clock,
                "end": clock + wait,
                "seconds": wait,
                "cause": cause,
                "note": note,
                "left": retry.total,
            }
        )
        clock += wait
    return events, policy


def retry_timeline(out: Path) -> str:
    events, policy = timeline()
    width, height = 1000, 390
    left, right, axis_y = 60, 80, 200
    scale = (width - left - right) / (TOTAL + 0.5)

    def at(seconds: float) -> float:
        return left + seconds * scale

    svg = header(width, height)
    svg.append(
        text(
            left,
            28,
            "requestx.get(url, retries=Retry(total=3, backoff_factor=0.5, "
            f"status_forcelist=[503]), timeout=requestx.Timeout(total={TOTAL:g}))",
            font_family="monospace",
            font_size="12",
        )
    )
    svg.append(
        text(
            left,
            48,
            f"each attempt drawn {ATTEMPT_S:g} s long (an assumption); the "
            "waits are the retry loop's own",
            fill=GREY,
            font_size="11",
        )
    )
    # the time axis
    svg.append(
        f'<line x1="{left}" y1="{axis_y}" x2="{at(TOTAL + 0.4):.1f}" y2="{axis_y}" '
        f'stroke="{GREY}"/>'
    )
    for second in range(int(TOTAL) + 1):
        x = at(second)
        svg.append(
            f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 5}" stroke="{GREY}"/>'
        )
        svg.append(
            text(x, axis_y + 18, f"{second} s", text_anchor="middle", fill=GREY, font_size="11")
        )
    # attempts and waits (the labels of the waits a row each, below the axis)
    row = 0
    for event in events:
        x1, x2 = at(event["start"]), at(event["end"])
        if event["kind"] == "attempt":
            ok = event["status"] < 400
            colour = GREEN if ok else RED
            svg.append(
                f'<rect x="{x1:.1f}" y="{axis_y - 60}" width="{x2 - x1:.1f}" height="46" '
                f'rx="4" fill="#ffffff" stroke="{colour}" stroke-width="2"/>'
            )
            mid = (x1 + x2) / 2
            svg.append(
                text(
                    mid, axis_y - 43, f"attempt {event['n']}", text_anchor="middle", font_size="10"
                )
            )
            svg.append(
                text(
                    mid,
                    axis_y - 24,
                    str(event["status"]),
                    text_anchor="middle",
                    fill=colour,
                    font_weight="bold",
                )
            )
            if event["retry_after"] is not None:
                svg.append(
                    text(
                        mid,
                        axis_y - 68,
                        f"Retry-After: {event['retry_after']}",
                        text_anchor="middle",
                        fill=AMBER,
                        font_size="11",
                    )
                )
        else:
            y = axis_y - 37
            colour = AMBER if event["cause"].startswith("Retry-After") else BLUE
            if event["seconds"] > 0:
                svg.append(
                    f'<line x1="{x1:.1f}" y1="{y}" x2="{x2:.1f}" y2="{y}" '
                    f'stroke="{colour}" stroke-width="2" stroke-dasharray="4 3"/>'
                )
            label_x = max((x1 + x2) / 2, x1 + 4)
            anchor = "middle" if event["seconds"] > 0 else "start"
            label_y = axis_y + 44 + row * 56
            row += 1
            svg.extend(
                lines(
                    label_x,
                    label_y,
                    [
                        f"wait {event['seconds']:g} s: {event['cause']}",
                        event["note"],
                        f"total left: {event['left']}",
                    ],
                    14,
                    text_anchor=anchor,
                    fill=colour,
                    font_size="11",
                )
            )
            svg.append(
                f'<line x1="{label_x:.1f}" y1="{label_y - 14}" x2="{label_x:.1f}" '
                f'y2="{y + 4}" stroke="{colour}" stroke-opacity="0.4"/>'
            )
    # the deadline
    x = at(TOTAL)
    svg.append(
        f'<line x1="{x:.1f}" y1="62" x2="{x:.1f}" y2="{axis_y + 8}" stroke="{RED}" '
        f'stroke-width="2"/>'
    )
    svg.extend(
        lines(
            x - 6,
            78,
            [
                f"deadline: total={TOTAL:g} s",
                "a wait that would cross it",
                "raises DeadlineExceeded",
            ],
            14,
            text_anchor="end",
            fill=RED,
            font_size="11",
        )
    )
    end = events[-1]["end"]
    svg.append(text(at(end) + 8, axis_y - 33, f"response at {end:g} s", fill=GREEN, font_size="11"))
    svg.append(
        text(
            left,
            height - 16,
            f"{policy!r}: the Retry the call started with",
            fill=GREY,
            font_size="11",
        )
    )
    svg.append("</svg>")
    out.write_text("\n".join(svg) + "\n", encoding="utf-8")
    attempts = sum(1 for e in events if e["kind"] == "attempt")
    waits = ", ".join(f"{e['seconds']:g} s" for e in events if e["kind"] == "wait")
    return f"{out}: {attempts} attempts, waits {waits}"


def main() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "pictures"
    folder.mkdir(parents=True, exist_ok=True)
    print(breaker_states(folder / "breaker-states.svg"))
    print(retry_timeline(folder / "retry-timeline.svg"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
