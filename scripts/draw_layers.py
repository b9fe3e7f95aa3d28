"""Draw requestx's layers and the imports between them, from the code.

    python3 scripts/draw_layers.py [docs/pictures/layers.svg]

Every module of the package is read with ``ast`` (imports inside functions
count too: the package imports some modules lazily) and placed in its band,
top to bottom as data flows down. A line is one import between two modules;
the figure at the right of a band says how many imports leave it for each
band below. An import that runs *up* is drawn red and makes the script exit
with status 1, so the picture doubles as a check. The standard library only.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "requestx"

# (band, what it is, modules); a module ending in "." stands for a subpackage.
BANDS = [
    ("package", "the names handed on", ["__init__", "utils"]),
    (
        "faces",
        "what a user calls",
        [
            "api",
            "sessions",
            "async_sessions",
            "websocket",
            "async_websocket",
            "transports.",
            "contrib.",
        ],
    ),
    (
        "core",
        "shared by every face, no I/O",
        ["_core.base", "_core.settings", "_core.aio", "_core.observe", "_core.stats"],
    ),
    (
        "policy",
        "retries, breakers, deadlines",
        ["adapters", "policy.call", "policy.retry", "policy.breaker", "policy.deadline"],
    ),
    (
        "model",
        "requests and responses",
        ["models", "sse", "_raw", "_body", "_url", "_wire", "auth", "cookies"],
    ),
    (
        "foundations",
        "leaves",
        [
            "_headers",
            "exceptions",
            "_timeout",
            "_environment",
            "structures",
            "status_codes",
            "__version__",
        ],
    ),
    ("engine", "C over libcurl", ["_engine"]),
]

BOX_W, BOX_H, GAP, BAND_H, LEFT, TOP = 118, 34, 14, 96, 150, 30


def module_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def place(module: str) -> str | None:
    """The box a module is drawn in."""
    for _, _, names in BANDS:
        for name in names:
            if module == name or (name.endswith(".") and module.startswith(name)):
                return name
            if name.endswith(".") and module == name[:-1]:
                return name
    return None


def imports(path: Path, module: str) -> set[str]:
    """The requestx modules ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    if module == "__init__":
        package = []
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
            elif node.module and node.module.split(".")[0] == "requestx":
                base = []
                node_module = node.module.split(".")[1:]
                found.add(".".join(node_module) or "__init__")
                continue
            else:
                continue
            target = base + (node.module.split(".") if node.module else [])
            for alias in node.names:
                candidate = ".".join([*target, alias.name])
                if (
                    (PACKAGE / Path(*candidate.split("."))).with_suffix(".py").exists()
                    or (PACKAGE / Path(*candidate.split(".")) / "__init__.py").exists()
                    or candidate == "_engine"
                ):
                    found.add(candidate)
                else:
                    found.add(".".join(target) or "__init__")
    return found


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "pictures" / "layers.svg"
    band_of = {name: i for i, (_, _, names) in enumerate(BANDS) for name in names}
    edges: dict[tuple[str, str], int] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_of(path)
        found = imports(path, module)
        if path.name == "__init__.py" and module != "__init__" and not found:
            continue  # a subpackage's docstring, nothing more
        src = place(module)
        if src is None:
            print(f"{module}: in no band; add it to BANDS", file=sys.stderr)
            return 2
        for target in found:
            dst = place(target)
            if dst is not None and dst != src:
                edges[src, dst] = edges.get((src, dst), 0) + 1

    pos: dict[str, tuple[float, float]] = {}
    widest = max(len(names) for _, _, names in BANDS) * (BOX_W + GAP)
    for i, (_, _, names) in enumerate(BANDS):
        start = LEFT + (widest - len(names) * (BOX_W + GAP)) / 2  # each row centred
        for j, name in enumerate(names):
            pos[name] = (start + j * (BOX_W + GAP), TOP + i * BAND_H + 30)
    width = LEFT + widest + 170
    height = TOP + len(BANDS) * BAND_H + 10

    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{width:.0f}" height="{height}" fill="#ffffff"/>',
    ]
    for i, (band, says, _) in enumerate(BANDS):
        y = TOP + i * BAND_H
        fill = "#f3f6fa" if i % 2 == 0 else "#e9eef5"
        svg.append(f'<rect x="0" y="{y}" width="{width:.0f}" height="{BAND_H}" fill="{fill}"/>')
        svg.append(f'<text x="12" y="{y + 40}" font-weight="bold">{escape(band)}</text>')
        svg.append(f'<text x="12" y="{y + 58}" fill="#555" font-size="10">{escape(says)}</text>')
    upward = []
    for (src, dst), n in sorted(edges.items()):
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        up = band_of[dst] < band_of[src]
        if up:
            upward.append(f"{src} -> {dst}")
        colour, opacity = ("#d00000", 0.9) if up else ("#2f5d8a", 0.35)
        if band_of[src] == 0:
            opacity = 0.12  # the package's own names: every module, drawn faint
        sx, ex = x1 + BOX_W / 2, x2 + BOX_W / 2
        if band_of[src] == band_of[dst]:  # an arc below the band's boxes
            sy = ey = y1 + BOX_H
            c = f"C {sx} {sy + 26} {ex} {ey + 26} {ex} {ey}"
        else:
            sy, ey = (y1 + BOX_H, y2) if not up else (y1, y2 + BOX_H)
            c = f"C {sx} {(sy + ey) / 2} {ex} {(sy + ey) / 2} {ex} {ey}"
        svg.append(
            f'<path d="M {sx} {sy} {c}" fill="none" stroke="{colour}" '
            f'stroke-opacity="{opacity}" stroke-width="{1 + min(n, 6) * 0.4:.1f}"/>'
        )
    for name, (x, y) in pos.items():
        label = (
            name[:-1] + "/"
            if name.endswith(".")
            else name.replace(".", "/") + ("/ (C)" if name == "_engine" else ".py")
        )
        svg.append(
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="5" fill="#ffffff" '
            f'stroke="#2f5d8a"/>'
        )
        svg.append(
            f'<text x="{x + BOX_W / 2}" y="{y + 21}" text-anchor="middle">{escape(label)}</text>'
        )
    for i in range(len(BANDS)):
        down = sum(n for (s, d), n in edges.items() if band_of[s] == i and band_of[d] > i)
        y = TOP + i * BAND_H + 52
        svg.append(
            f'<text x="{width - 160:.0f}" y="{y}" fill="#2f5d8a">{down} imports go down</text>'
        )
    svg.append("</svg>")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(svg) + "\n", encoding="utf-8")
    print(f"{out}: {len(pos)} boxes, {sum(edges.values())} imports between them")
    if upward:
        print("imports that run up: " + ", ".join(upward), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
