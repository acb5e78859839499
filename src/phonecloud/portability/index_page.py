"""index.html: a page that lists every folder and file of an export, for people. Pure Python."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import quote

from phonecloud.core.sizes import format_size

HOME = "Takeout/"  # the page sits here; links are relative to it
ORIGINAL = "original"  # a file as uploaded, with a sidecar beside it
SIDECAR = "sidecar"
_STYLE = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
          "td{padding:0 .8rem 0 0}td.n{text-align:right;white-space:nowrap}h2{margin-top:2rem}")


def _folder(path: str) -> str:
    return path.removeprefix(HOME).rpartition("/")[0]


def _link(path: str, text: str) -> str:
    return f'<a href="{html.escape(quote(path.removeprefix(HOME)))}">{html.escape(text)}</a>'


def index_page(title: str, lines: list[str], files: Callable[[], Iterable[tuple[str, int, str]]]) -> Iterator[bytes]:
    """files() → (path, size, kind) in archive order; called twice, for the table of folders and the lists.
    Sidecars are not listed: each original links to its own."""
    counts = Counter(_folder(path) for path, _size, kind in files() if kind != SIDECAR)
    head = [f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>\n<h1>{html.escape(title)}</h1>\n"]
    head += [f"<p>{html.escape(line)}</p>\n" for line in lines]
    head.append("<h2>Folders</h2>\n<table>\n")
    head += [f'<tr><td><a href="#f{number}">{html.escape(folder)}</a></td><td class="n">{count} files</td></tr>\n'
             for number, (folder, count) in enumerate(counts.items())]
    yield "".join(head + ["</table>\n"]).encode()
    numbers = {folder: number for number, folder in enumerate(counts)}
    current = None
    for path, size, kind in files():
        if kind == SIDECAR:
            continue
        folder = _folder(path)
        if folder != current:
            close = "</table>\n" if current is not None else ""
            yield f'{close}<h2 id="f{numbers[folder]}">{html.escape(folder)}</h2>\n<table>\n'.encode()
            current = folder
        name = path.rpartition("/")[2]
        details = f"<td>{_link(path + '.json', 'details')}</td>" if kind == ORIGINAL else ""
        yield f"<tr><td>{_link(path, name)}</td><td class=\"n\">{format_size(size)}</td>{details}</tr>\n".encode()
    yield ("</table>\n" if current is not None else "").encode() + b"</body></html>\n"
