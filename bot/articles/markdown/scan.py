"""The body scan: find the Key Takeaways list, or else the lede paragraph.

Takeaways are the list right under a heading that reads "Key Takeaways" (or another
of the configured :class:`~bot.articles.text.Headings`; any level,
ATX or setext, any case, singular too, an optional colon and decoration such as an
emoji ignored), or under a paragraph that holds only those words, bold or plain
(``**Key Takeaways:**``, ``__Key Takeaways__``). Blank lines may come between; any
other block in between means no takeaways there. Only top-level blocks count (not
inside block quotes or list items); the first such title with a non-empty list wins.

Without takeaways the lede is the first top-level paragraph that is prose: not only
images, not a lone bold line standing as a heading, not only Hugo shortcodes.

Only the parts of the body that matter are parsed (see "regions" below); every part
is parsed by markdown-it (:func:`~bot.articles.markdown.parser.top_blocks`).
"""

from __future__ import annotations

import re
from typing import Final

from markdown_it_pyrs import Node

from bot.articles.markdown.parser import (
    HEADINGS,
    LISTS,
    check_markup,
    check_nesting,
    top_blocks,
)
from bot.articles.markdown.render import (
    is_lede_candidate,
    is_takeaways_paragraph,
    plain_text,
    render_inline,
    render_list,
)
from bot.articles.model import ArticleError
from bot.articles.text import DEFAULT_HEADINGS, Headings

__all__ = ["BodyScan", "scan_body"]

_SHORTCODES_ONLY = re.compile(r"\s*(?:\{\{[<%].*?[>%]\}\}\s*)+", re.DOTALL)


class BodyScan:
    """Walks top-level blocks in document order, collecting the takeaways and the lede
    paragraph; ``found`` once the takeaways are known."""

    __slots__ = (
        "found",
        "headings",
        "lede",
        "need_lede",
        "pending",
        "search",
        "site_url",
        "takeaways",
    )

    def __init__(
        self, *, search: bool, need_lede: bool, site_url: str | None, headings: Headings
    ) -> None:
        self.search = search  # the body may hold a takeaways title (see Headings.word)
        self.headings = headings
        self.need_lede = need_lede
        self.site_url = site_url
        self.pending = False  # the previous block was a "Key Takeaways" title
        self.found = False
        self.takeaways: tuple[str, ...] = ()
        self.lede: str | None = None

    def feed(self, text: str) -> None:
        """Parse ``text`` (whole top-level blocks) and scan its blocks in order."""
        try:
            for block, data in top_blocks(text):
                self._block(block, data)
                if self.found:
                    return
        except RecursionError:  # pragma: no cover - check_nesting keeps trees shallow
            raise ArticleError("markdown nested too deeply") from None

    def _block(self, block: Node, data: bytes) -> None:
        name = block.name
        if name == "definition":
            return  # link reference definitions leave no trace between blocks
        if self.pending and name in LISTS:
            self.pending = False
            items = render_list(block, self.site_url)
            if items:
                self.takeaways = tuple(items)
                self.found = True
            return
        self.pending = False
        # A title must spell a heading's word in its source: the regions only look at
        # the parts of the document that do.
        if name in HEADINGS:
            if self.search and _mentions_title(block, data, self.headings):
                self.pending = self.headings.match(plain_text(block.children))
        elif name == "paragraph":
            maybe_title = self.search and _mentions_title(block, data, self.headings)
            if maybe_title and is_takeaways_paragraph(block.children, self.headings):
                self.pending = True
            elif self.need_lede and self.lede is None:
                inline = block.children
                if is_lede_candidate(inline) and not _shortcodes_only(block, data):
                    self.lede = render_inline(inline, self.site_url) or None


def _mentions_title(block: Node, data: bytes, headings: Headings) -> bool:
    if headings.word_bytes is None:
        return True
    span = block.srcmap
    return span is not None and headings.word_bytes.search(data, span[0], span[1]) is not None


def _shortcodes_only(block: Node, data: bytes) -> bool:
    """A paragraph made of Hugo shortcodes only (``{{< figure ... >}}``)."""
    span = block.srcmap
    if span is None or data.find(b"{{", span[0], span[1]) < 0:
        return False
    return _SHORTCODES_ONLY.fullmatch(data[span[0] : span[1]].decode()) is not None


# --------------------------------------------------------------------------- regions

# Almost all of a body is prose nobody reads: the takeaways sit in one section, the
# lede is the first paragraph. The body is therefore cut into "regions" at lines
# where CommonMark is certain to start a fresh top-level block, and only the regions
# that matter are parsed. A region boundary is the start of a line that is
#   * a top-level ATX heading ("#" .. "######" at column 0), which ends any open
#     paragraph, list or block quote; or
#   * preceded by a blank line, at column 0, and not a list item, so that it cannot
#     continue a list item, an indented code block or a block quote.
# Three things could still carry state across such a line, and the scan then parses
# the whole body instead: a fenced code block or a top-level raw HTML block (either
# may hold blank lines and "#" lines) opened before the end of a region it uses, and
# link reference definitions ("]:"), which reach links anywhere in the document. It
# also parses everything after a few regions (an article that says "takeaway" in
# every paragraph): one parse is cheaper then. tests/articles/test_markdown_fuzz.py
# checks that both ways agree.
_LIST_MARKER = r"(?:[-+*]|\d{1,9}[.)])(?:[ \t\n]|$)"
# The end of the line before a blank line and a fresh one, or before an ATX heading.
_NEXT_BOUNDARY = re.compile(
    r"\n[ \t]*\n(?![ \t\n]|" + _LIST_MARKER + r")|\n(?=#{1,6}(?:[ \t\n]|$))"
)
_ATX_LINE = re.compile(r"#{1,6}(?:[ \t\n]|$)")
_FRESH_LINE = re.compile(r"(?![ \t\n]|" + _LIST_MARKER + ")")
_BLANK = re.compile(r"[ \t]*")
# A line that may open a fenced code block or a raw HTML block.
_FENCE = re.compile("```|~~~")
_HTML_LINE = re.compile(r"\n {0,3}<")
_HTML_FIRST = re.compile(" {0,3}<")
# Parser calls the regions may take before parsing everything is cheaper.
_MAX_REGIONS: Final = 8


def _is_boundary(body: str, line: int) -> bool:
    """Whether a fresh top-level block surely starts at offset ``line`` (a line start
    after 0), unless a fence or HTML block is open there."""
    if _ATX_LINE.match(body, line) is not None:
        return True
    if _FRESH_LINE.match(body, line) is None:
        return False
    prev_end = line - 1
    prev_start = body.rfind("\n", 0, prev_end) + 1
    return _BLANK.fullmatch(body, prev_start, prev_end) is not None


def _region_start(body: str, pos: int, floor: int) -> int:
    """The last boundary at or before the line holding ``pos``, ``floor`` at least."""
    line = max(body.rfind("\n", floor, pos) + 1, floor)
    while line > floor and not _is_boundary(body, line):
        line = max(body.rfind("\n", floor, line - 1) + 1, floor)
    return line


def _region_end(body: str, pos: int) -> int:
    """The first boundary after the line holding ``pos`` (the end of the body if none)."""
    newline = body.find("\n", pos)
    if newline < 0:
        return len(body)
    match = _NEXT_BOUNDARY.search(body, newline)
    return match.end() if match is not None else len(body)


def _opens_fence_or_html(body: str, start: int, end: int) -> bool:
    """Whether ``body[start:end]`` may open a fenced code or raw HTML block."""
    if start == 0 and _HTML_FIRST.match(body) is not None:
        return True
    start = max(start - 4, 0)  # an opener across ``start`` was not seen whole
    return (
        _FENCE.search(body, start, end) is not None
        or _HTML_LINE.search(body, start, end) is not None
    )


def _scan_regions(body: str, scan: BodyScan) -> bool:
    """Fill ``scan`` from the regions of ``body`` that matter; False when that cannot be
    done safely, or would take more parser calls than parsing everything."""
    safe = 0  # body[:safe] opens no fence or HTML block
    budget = _MAX_REGIONS
    word = scan.headings.word
    if scan.search and word is None:
        return False  # a title could be anywhere: parse everything
    if scan.search and word is not None:
        # Every title spells a heading's word: parse the regions holding one, in order.
        titles = BodyScan(
            search=True, need_lede=False, site_url=scan.site_url, headings=scan.headings
        )
        pos = 0
        while (found := word.search(body, pos)) is not None:
            start = _region_start(body, found.start(), pos)
            end = _region_end(body, found.start())
            budget -= 1
            if budget < 0 or _opens_fence_or_html(body, safe, end):
                return False
            safe = end
            if start != pos:
                titles.pending = False  # the blocks skipped hold no title
            titles.feed(body[start:end])
            if titles.found:
                scan.takeaways, scan.found = titles.takeaways, True
                return True
            pos = end
    if scan.need_lede:
        # No takeaways: the lede is the first prose paragraph, usually in region one.
        pos = 0
        while scan.lede is None and pos < len(body):
            end = _region_end(body, pos)
            budget -= 1
            if budget < 0 or (end > safe and _opens_fence_or_html(body, safe, end)):
                return False
            safe = max(safe, end)
            scan.feed(body[pos:end])
            pos = end
    return True


def scan_body(
    body: str,
    *,
    need_lede: bool,
    site_url: str | None,
    regions: bool = True,
    headings: Headings = DEFAULT_HEADINGS,
) -> BodyScan:
    """Scan an article body for its takeaways (and, if ``need_lede``, its lede).

    ``regions=False`` parses the whole body; the result is the same either way (the
    tests compare them), but for one limit: a part parsed at once may hold at most
    :data:`~bot.articles.markdown.parser.MAX_MARKUP` markup characters, and the whole
    body is one part when it holds a link reference definition (or opens a fenced
    code or HTML block before the takeaways).
    """
    if "\0" in body:  # as CommonMark wants; done here so that byte offsets match
        body = body.replace("\0", "\ufffd")
    # The whole body is judged, whichever parts of it get parsed: one verdict.
    check_markup(body, whole_body=True)
    check_nesting(body)
    search = headings.word is None or headings.word.search(body) is not None
    scan = BodyScan(search=search, need_lede=need_lede, site_url=site_url, headings=headings)
    if not search and not need_lede:
        return scan
    if regions and "]:" not in body and _scan_regions(body, scan):
        return scan
    scan = BodyScan(search=search, need_lede=need_lede, site_url=site_url, headings=headings)
    scan.feed(body)
    return scan
