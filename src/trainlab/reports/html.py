"""Self-contained HTML pages: inline CSS, figures embedded as base64 PNG, no network needed."""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from pathlib import Path

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 1rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; display: block; overflow-x: auto; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
.figures { display: flex; flex-wrap: wrap; gap: 1rem; }
.figures img { max-width: 100%; width: 28rem; }
.note { color: #555; font-size: 0.9rem; }
.finding { background: #eef6ee; padding: 0.6rem 0.9rem; border-left: 4px solid #4a4; }
.failed { background: #fbeeee; padding: 0.6rem 0.9rem; border-left: 4px solid #c44; }
figure { margin: 0; max-width: 100%; }
figcaption { font-size: 0.85rem; color: #555; text-align: center; }
pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; font-size: 0.8rem; white-space: pre-wrap; }
nav { display: flex; flex-wrap: wrap; gap: 0.2rem 0.8rem; }  /* links wrap on a phone */
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr)); gap: 1rem; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.6rem 0.8rem; }
.card img { max-width: 100%; }
"""


def escape(text: object) -> str:
    return html.escape(str(text))


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figures(paths: Sequence[str | os.PathLike]) -> str:
    """The PNG files embedded, so the page can be mailed or opened offline on its own."""
    images = []
    for path in paths:
        encoded = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        images.append(f'<img alt="{escape(Path(path).stem)}" src="data:image/png;base64,{encoded}">')
    return f'<div class="figures">{"".join(images)}</div>'


def image(path: str | os.PathLike, alt: str = "") -> str:
    """One PNG as an <img> with its bytes inline."""
    encoded = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{escape(alt or Path(path).stem)}" src="data:image/png;base64,{encoded}">'


def captioned_figures(paths: Sequence[str | os.PathLike]) -> str:
    """Like `figures`, each image captioned with its file name in words ("confusion matrix")."""
    items = [f"<figure>{image(path)}<figcaption>{escape(caption(path))}</figcaption></figure>" for path in paths]
    return f'<div class="figures">{"".join(items)}</div>'


def caption(path: str | os.PathLike) -> str:
    return Path(path).stem.replace("_", " ").replace("-", " ")


def key_values(pairs: Sequence[tuple[object, object]]) -> str:
    """A two-column table of names and values."""
    return table(["", ""], pairs).replace("<thead><tr><th></th><th></th></tr></thead>", "")


def preformatted(text: str) -> str:
    return f"<pre>{escape(text)}</pre>"


def page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )
