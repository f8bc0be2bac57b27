"""markdown-it-pyrs behind the guards it needs: the parser every article body goes to.

:func:`top_blocks` parses CommonMark + strikethrough with markdown-it-pyrs (the Rust
markdown-it.rs) and returns the top-level blocks. Three faults of that parser are kept
away from the bot:

* It recurses once per level of nesting without a limit, so tens of thousands of
  levels overflow the stack and kill the process. :func:`check_nesting` counts the
  levels a text really opens and refuses it ("markdown nested too deeply") beyond a
  hundred block or two hundred inline levels; real articles stay well under ten.
* It builds a Python object for every node, so a file of tiny constructs (a million
  code spans in 2 MB) would take gigabytes. :func:`check_markup` refuses a text with
  more than :data:`MAX_MARKUP` markup characters before it is parsed.
* markdown-it.rs 0.6.0 (in markdown-it-pyrs 0.4) panics on some backtick runs after
  a ``[`` (https://github.com/markdown-it-rust/markdown-it/issues/40). Such text is
  parsed with guards that give the outcome the parser should have had (:func:`_guarded`).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Sequence
from typing import Final

from markdown_it_pyrs import MarkdownIt, Node

from bot.articles.model import ArticleError

__all__ = [
    "BLOCKS",
    "HEADINGS",
    "LISTS",
    "MAX_BODY_MARKUP",
    "MAX_MARKUP",
    "Blocks",
    "check_markup",
    "check_nesting",
    "inline_depth",
    "top_blocks",
]

_MD: Final = MarkdownIt("commonmark").enable("strikethrough")

# Node names of markdown-it's block rules (CommonMark); every other name is inline.
BLOCKS: Final = frozenset(
    {
        "paragraph",
        "heading",
        "lheading",
        "bullet_list",
        "ordered_list",
        "list_item",
        "blockquote",
        "code_block",
        "fence",
        "html_block",
        "hr",
        "definition",
    }
)
LISTS: Final = frozenset({"bullet_list", "ordered_list"})
HEADINGS: Final = frozenset({"heading", "lheading"})

_BACKTICKS = re.compile("`+")
_EMPTY_ITEM = re.compile(rb"[ \t>]*(?:[-+*]|\d{1,9}[.)])[ \t]*")


# markdown-it.rs (and the Node tree handed to Python) recurse once per level of
# nesting, without a limit: some tens of thousands of levels overflow a thread's stack
# and kill the process. Real articles stay well under ten levels, so text that would
# nest deeper than a hundred block or two hundred inline levels is refused, with the
# same verdict whichever parts of an article are parsed (the body is judged whole).
# The depths are counted as the parser would open levels: block containers line by
# line, and inline links, images and emphasis along each inline content, each closed
# again by its closer. So a table of a hundred links or a list of a hundred bold
# phrases is flat, as it is.
_MAX_BLOCK_DEPTH: Final = 100
_MAX_INLINE_DEPTH: Final = 200
# A line whose leading run of container-marker characters is long enough to open
# _MAX_BLOCK_DEPTH levels (each character opens at most two: a tab is four columns).
_LONG_PREFIX = re.compile(r"\n[ \t>*+\-0-9.)]{" + str(_MAX_BLOCK_DEPTH // 2) + ",}")
_PREFIX_UNIT = re.compile(r" +|\t|>|[-+*](?=[ \t\n]|$)|\d{1,9}[.)](?=[ \t\n]|$)")
# Where one inline content surely ends and the next begins: a blank line, or a line
# that starts a list item able to interrupt a paragraph, or an ATX heading (in block
# quotes too). Anything else may continue a paragraph, so it is not a split.
_INLINE_SPLIT = re.compile(
    r"\n[ \t]*\n|\n(?=(?: {0,3}> ?)*+ {0,3}(?:(?:[-+*]|1[.)])[ \t]+[^ \t\n]|#{1,6}(?:[ \t\n]|$)))"
)
# What can open or close an inline level: a bracket, a run of emphasis delimiters;
# and a backslash escape, which makes the next character literal.
_INLINE_MARK = re.compile(r"\\.|[\[\]]|\*+|_+|~+", re.DOTALL)
# Punctuation for CommonMark's flanking rules (ASCII is what matters in practice;
# other characters count as letters, which only makes a run likelier to open).
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# The most markup characters one parse may hold. Every inline node takes at least one,
# and markdown-it-pyrs builds a Python object per node: a file under the size limit
# could otherwise hold a million of them and take gigabytes. Real articles hold a few
# thousand.
MAX_MARKUP: Final = 50_000
# And in a whole body, parsed or not: the nesting check reads every delimiter of it.
MAX_BODY_MARKUP: Final = 300_000
_MARKUP_CHARS: Final = "`*_[]<&\\~!\n"


def _block_depth_bound(text: str, start: int) -> float:
    """At most how many containers (block quotes, list items) the line at ``start``
    opens or continues: one per ``>`` or list marker, one per two columns of indent.
    A line that opens none is no deeper than an earlier one: 0."""
    depth = 0.0
    opens = False
    pos = start
    while (unit := _PREFIX_UNIT.match(text, pos)) is not None:
        token = unit.group()
        if token[0] == " ":
            depth += len(token) / 2
        elif token == "\t":
            depth += 2
        else:
            depth += 1
            opens = True
        pos = unit.end()
    return depth if opens else 0.0


def _is_punctuation(char: str) -> bool:
    """CommonMark's punctuation: ASCII punctuation, and Unicode punctuation and symbols."""
    return char in _PUNCTUATION or (not char.isascii() and unicodedata.category(char)[0] in "PS")


def _opens_closes(text: str, start: int, end: int) -> tuple[bool, bool]:
    """Whether the delimiter run ``text[start:end]`` can open and can close emphasis:
    CommonMark's flanking rules, and for ``_`` its stricter ones."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    left = not after.isspace() and (
        not _is_punctuation(after) or before.isspace() or _is_punctuation(before)
    )
    right = not before.isspace() and (
        not _is_punctuation(before) or after.isspace() or _is_punctuation(after)
    )
    if text[start] == "_":
        return left and (not right or _is_punctuation(before)), right and (
            not left or _is_punctuation(after)
        )
    return left, right


def inline_depth(text: str) -> int:
    """How deep links, images and emphasis in one inline content can nest.

    Walking along ``text``: each ``[`` opens a level, each ``]`` closes one; each run of
    ``*`` or ``_`` that can open emphasis opens as many levels as it has characters
    (``~``: one per two), and each run that can close closes them again. A level counts
    only while a closer for it is still to come: without one nothing nests.
    """
    marks: list[tuple[str, int, bool, bool]] = []  # kind, characters, opens, closes
    for mark in _INLINE_MARK.finditer(text):
        token = mark.group()
        char = token[0]
        if char == "\\":
            continue
        if char in "[]":
            marks.append(("[", 1, char == "[", char == "]"))
            continue
        marks.append((char, len(token), *_opens_closes(text, mark.start(), mark.end())))
    closers_after = {"[": 0, "*": 0, "_": 0, "~": 0}
    for kind, size, _, closes in marks:
        closers_after[kind] += size if closes else 0
    opened = {"[": 0, "*": 0, "_": 0, "~": 0}
    depth = 0
    for kind, size, opens, closes in marks:
        if closes:
            closers_after[kind] -= size
        if closes and opened[kind]:
            opened[kind] = max(opened[kind] - size, 0)
        elif opens:
            opened[kind] += size
        levels = sum(min(opened[k], closers_after[k]) for k in ("[", "*", "_"))
        depth = max(depth, levels + min(opened["~"], closers_after["~"]) // 2)
    return depth


def check_nesting(text: str) -> None:
    """Raise :class:`ArticleError` when ``text`` nests too deeply to parse safely."""
    # "\n" + text: the first line is a line too.
    for match in _LONG_PREFIX.finditer("\n" + text):
        if _block_depth_bound(match.string, match.start() + 1) > _MAX_BLOCK_DEPTH:
            raise ArticleError("markdown nested too deeply")
    # No content can nest deeper than it has brackets and delimiters: most texts are
    # judged by that count alone.
    if sum(text.count(c) for c in "[*_") + text.count("~") // 2 <= _MAX_INLINE_DEPTH:
        return
    for chunk in _INLINE_SPLIT.split(text):
        if inline_depth(chunk) > _MAX_INLINE_DEPTH:
            raise ArticleError("markdown nested too deeply")


def check_markup(text: str, *, whole_body: bool = False) -> None:
    """Raise :class:`ArticleError` when ``text`` holds more markup than one parse may
    (:data:`MAX_MARKUP`), or, as a ``whole_body``, more than any article could need
    (:data:`MAX_BODY_MARKUP`: such a file is machine-made, and even judging its nesting
    would take seconds and hundreds of megabytes)."""
    count = sum(text.count(c) for c in _MARKUP_CHARS)
    if whole_body and count > MAX_BODY_MARKUP:
        raise ArticleError(
            f"too much Markdown markup ({count:,} markup characters;"
            f" at most {MAX_BODY_MARKUP:,} in a whole article)"
        )
    if not whole_body and count > MAX_MARKUP:
        raise ArticleError(
            f"too much Markdown markup to read in one part ({count:,} markup characters;"
            f" at most {MAX_MARKUP:,})"
        )


# The same block rules without any inline rule: paragraphs and headings hold their
# raw source as a single text node. It shows where each inline content ends (see
# _guarded) and, as a last resort, stands in for a block the parser fails on.
_BLOCK_RULES: Final = ("blockquote", "code", "fence", "heading", "hr", "lheading", "list")
_BLOCK_MD: Final = MarkdownIt("zero").enable_many(
    [*_BLOCK_RULES, "paragraph", "reference", "html_block"]
)

Blocks = list[tuple[Node, bytes]]


def _is_panic(exc: BaseException) -> bool:
    """A Rust panic inside markdown-it.rs, which pyo3 raises as a BaseException."""
    return type(exc).__name__ == "PanicException" and not isinstance(exc, Exception)


def top_blocks(text: str) -> Blocks:
    """The top-level blocks of ``text``, each with the UTF-8 bytes its ``srcmap``
    indexes. The caller has checked ``text`` with :func:`check_nesting` (or a text it
    is part of); too much markup raises :class:`ArticleError`."""
    check_markup(text)
    data = text.encode()
    if "`" in text and "[" in text:
        # Only link and image labels make markdown-it.rs look ahead, and only backticks
        # can then make it panic: parse such text the safe way from the start (a panic
        # costs milliseconds, and a backtrace on stderr when RUST_BACKTRACE is set).
        skeleton = _BLOCK_MD.tree(text)
        return _guarded(text, data, skeleton) or _one_by_one(data, skeleton)
    try:
        return [(block, data) for block in _MD.tree(text).children]
    except BaseException as exc:  # pragma: no cover - no panic without "[" and "`"
        if not _is_panic(exc):
            raise
    return _one_by_one(data, _BLOCK_MD.tree(text))  # pragma: no cover


def _guarded(text: str, data: bytes, skeleton: Node) -> Blocks | None:
    """Parse text that could make markdown-it.rs panic, with the outcome it should have
    had; None when its source maps are not exact enough to do that.

    markdown-it.rs 0.6.0 (in markdown-it-pyrs 0.4) panics when its cache of backtick
    runs is asked about a run longer than any it has recorded, which happens once a
    ``[`` made it look ahead ("see [the ` key"): an index out of bounds where
    markdown-it reads "no closer", so the run is literal text. Ending every inline
    content with two backtick runs longer than any other puts every such question
    inside the cache; those runs can never close anything, so they stay literal text
    at the very end, and are cut off the text nodes again before anyone reads them.
    ``skeleton`` is ``text`` parsed by the block rules alone: one text node per inline
    content, which says where each ends.
    """
    ends: list[int] = []
    for node in skeleton.walk():
        if node.name == "text" and node.srcmap is not None:
            # Exact, unless tabs inside a container shifted it: check.
            last_line = str(node.meta.get("content")).rsplit("\n", 1)[-1].encode()
            if not data.endswith(last_line, 0, node.srcmap[1]):
                return None
            ends.append(node.srcmap[1])
    ends.sort()
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    guard = "`" * (longest + 1) + " " + "`" * (longest + 2)
    pieces: list[bytes] = []
    inserted_at: list[int] = []  # where each guard starts in the parsed text
    shifts: list[int] = []  # how much longer the parsed text is after each guard
    previous = shift = 0
    for end in ends:
        # A space keeps the guard off a backtick the content ends with, except after
        # an empty list item ("*" as the last line of a paragraph), which the space
        # and guard would turn into a list item that ends the paragraph.
        line = data.rfind(b"\n", 0, end) + 1
        raw = (b"" if _EMPTY_ITEM.fullmatch(data, line, end) else b" ") + guard.encode()
        pieces += (data[previous:end], raw)
        inserted_at.append(end + shift)
        shift += len(raw)
        shifts.append(shift)
        previous = end
    pieces.append(data[previous:])
    try:
        tree = _MD.tree(b"".join(pieces).decode())
    except BaseException as exc:  # pragma: no cover - the guards prevent it
        if not _is_panic(exc):
            raise
        return None
    if [b.name for b in tree.children] != [b.name for b in skeleton.children]:
        return None  # pragma: no cover - the guards never change the blocks
    _strip_guards(tree, guard)
    # Top-level source maps back to offsets in ``data``, for the raw-source checks.
    for block in tree.children:
        if block.srcmap is not None:
            start, end = block.srcmap
            block.srcmap = (
                _unshift(start, inserted_at, ends, shifts),
                _unshift(end, inserted_at, ends, shifts),
            )
    return [(block, data) for block in tree.children]


def _one_by_one(data: bytes, skeleton: Node) -> Blocks:
    """Parse each top-level block on its own: its lines (up to the next block) and the
    document's link reference definitions parse exactly as they do in the document. A
    block that cannot be parsed safely keeps its inline Markdown as raw text."""
    starts = [
        data.rfind(b"\n", 0, block.srcmap[0]) + 1 if block.srcmap else 0
        for block in skeleton.children
    ]
    starts.append(len(data))
    lines = [data[starts[i] : starts[i + 1]] for i in range(len(skeleton.children))]
    definitions = b"".join(
        b"\n\n" + piece
        for block, piece in zip(skeleton.children, lines, strict=False)
        if block.name == "definition"
    )
    blocks: Blocks = []
    for block, piece in zip(skeleton.children, lines, strict=False):
        if block.name == "definition":
            continue
        source = piece + definitions
        text = source.decode()
        parsed = _guarded(text, source, _BLOCK_MD.tree(text)) if "`" in text else None
        if parsed is None:
            try:
                parsed = [(node, source) for node in _MD.tree(text).children]
            except BaseException as exc:
                if not _is_panic(exc):
                    raise
                parsed = [(block, data)]  # raw inline Markdown, the best left
        blocks.extend((node, raw) for node, raw in parsed if node.name != "definition")
    return blocks


def _strip_guards(node: Node, guard: str) -> None:
    """Cut the guard runs off the text nodes that end inline contents: always text at
    the top level of an inline content, right under a paragraph, heading or list item."""
    for child in node.children:
        name = child.name
        if name == "text":
            content = child.meta.get("content")
            if isinstance(content, str) and content.endswith(guard):
                # Inline content never ends with a space of its own: that one is ours.
                content = content[: -len(guard)]
                child.meta = {
                    **child.meta,
                    "content": content[:-1] if content[-1:] == " " else content,
                }
        elif name in BLOCKS:
            _strip_guards(child, guard)


def _unshift(
    offset: int, inserted_at: Sequence[int], ends: Sequence[int], shifts: Sequence[int]
) -> int:
    """An offset in the guarded text as an offset in the original one: guard ``k``
    was inserted at ``ends[k]`` and starts at ``inserted_at[k]`` in the guarded text;
    ``shifts[k]`` is how much longer the text is from its end on."""
    before = bisect_left(inserted_at, offset)  # guards starting before ``offset``
    if before == 0:
        return offset
    # Past that guard, or inside it (then: where it was inserted).
    return max(ends[before - 1], offset - shifts[before - 1])
