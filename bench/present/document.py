"""A report as a list of blocks, rendered to Markdown (PNGs beside it) or one HTML file.

Building the content once and rendering it twice keeps the two formats saying the same
thing; the HTML embeds its plots as base64 so it can be mailed or archived alone.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.errors import UsageError
from bench.present.tables import markdown_table
from bench.store.atomic import write_bytes_atomic


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple, ...]


@dataclass(frozen=True)
class Image:
    name: str  # file name of the PNG next to the Markdown file
    png: bytes
    alt: str


Block = Heading | Paragraph | Bullets | Table | Image


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    return Table(tuple(headers), tuple(tuple(row) for row in rows))


def images(blocks: Sequence[Block]) -> list[Image]:
    return [block for block in blocks if isinstance(block, Image)]


def to_markdown(title: str, blocks: Sequence[Block]) -> str:
    parts = [f"# {title}"]
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            parts.append(block.text)
        elif isinstance(block, Bullets):
            parts.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Table):
            parts.append(markdown_table(block.headers, block.rows))
        elif isinstance(block, Image):
            parts.append(f"![{block.alt}]({block.name})")
    return "\n\n".join(parts) + "\n"


_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def _inline(text: str) -> str:
    """Escape, then the two bits of Markdown the report uses: `code` and **bold**."""
    escaped = html.escape(text)
    escaped = _CODE.sub(r"<code>\1</code>", escaped)
    return _BOLD.sub(r"<strong>\1</strong>", escaped)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; display: block; margin: 1em 0; }
.wide { overflow-x: auto; }
code { background: #f3f3f3; padding: 0 0.2em; }
"""


def to_html(title: str, blocks: Sequence[Block]) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"<h{block.level}>{_inline(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            parts.append(f"<p>{_inline(block.text)}</p>")
        elif isinstance(block, Bullets):
            items = "".join(f"<li>{_inline(item)}</li>" for item in block.items)
            parts.append(f"<ul>{items}</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
            body = "".join(
                "<tr>"
                + "".join(f"<td>{'—' if c is None else html.escape(str(c))}</td>" for c in row)
                + "</tr>"
                for row in block.rows
            )
            # A table wider than the column scrolls in its own box; the page stays put.
            parts.append(f'<div class="wide"><table><thead><tr>{head}</tr></thead>'
                         f"<tbody>{body}</tbody></table></div>")
        elif isinstance(block, Image):
            data = base64.b64encode(block.png).decode("ascii")
            parts.append(f'<img alt="{html.escape(block.alt)}" src="data:image/png;base64,{data}">')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


FORMATS = ("md", "html")


def parse_formats(text: str) -> tuple[str, ...]:
    """'md,html' -> ('md', 'html'); a ``UsageError`` for anything else."""
    chosen = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if not chosen or unknown:
        raise UsageError(f"--format takes a comma list of {', '.join(FORMATS)}; got {text!r}")
    return chosen


def out_folder(text: str, flag: str = "--out") -> Path:
    """The report folder a flag names; an empty name is refused as ``run --out ''`` is
    (``Path('')`` would silently be the current folder)."""
    if not text.strip():
        raise UsageError(f"{flag} {text!r}: give a folder name, or leave {flag} out for the"
                         " default")
    return Path(text).expanduser()


def write(
    out_dir: Path, stem: str, title: str, blocks: Sequence[Block], formats: Sequence[str]
) -> list[Path]:
    """Write ``stem.md`` (with its PNGs) and/or ``stem.html``; the paths written.

    Each file is written whole or not at all (``bench.store.atomic``): a full disk leaves
    the previous report, or no file, never a fragment.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write the report to {out_dir}: {exc.strerror or exc}") from None
    files: list[tuple[Path, bytes]] = []
    if "md" in formats:
        files += [(out_dir / image.name, image.png) for image in images(blocks)]
        files.append((out_dir / f"{stem}.md", to_markdown(title, blocks).encode("utf-8")))
    if "html" in formats:
        files.append((out_dir / f"{stem}.html", to_html(title, blocks).encode("utf-8")))
    for path, data in files:
        try:
            write_bytes_atomic(path, data)
        except OSError as exc:  # the helper says it as a UsageError; this keeps it one line
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    return [path for path, _ in files]
