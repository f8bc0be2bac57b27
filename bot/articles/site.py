"""A Hugo site's own configuration, and the URL Hugo gives each content file.

Pure: the caller reads the files (:mod:`bot.sources.site`) and hands their parsed
contents here, in Hugo's order; this module merges them, reads the keys the bot uses
(``baseURL``, ``title``, ``timeZone``, ``contentDir``, ``permalinks``,
``defaultContentLanguage``, ``defaultContentLanguageInSubdir``, ``languages``) and
turns a content file's path, front matter and date into its permalink the way Hugo
does (pretty URLs, paths lower-cased):

* **Language**: a file under a language's own ``contentDir`` is in that language;
  else ``post.fr.md`` is French when ``fr`` is a configured language; else the
  default language. Every language but the default (and the default too with
  ``defaultContentLanguageInSubdir``) has its code as the URL's first segment, and a
  language with its own ``baseURL`` has its URLs there.
* **Permalinks**: ``[permalinks.page]`` / ``[permalinks.section]`` patterns by
  section (the older flat ``[permalinks] posts = ...`` form is the page kind), a
  language's own ``permalinks`` replacing the site's. Every documented token is
  expanded: ``:year :month :monthname :day :weekday :weekdayname :yearday :section
  :sectionslug :sections :sectionslugs :title :slug :filename :slugorfilename
  :contentbasename :slugorcontentbasename``, the slices ``:sections[1:]``,
  ``:sections[last]``..., Go time layouts such as ``:06`` or ``:Jan``, and ``\\:`` for a
  literal colon. A language with a ``baseURL`` of its own (Hugo's multihost mode) has
  no code prefix: its host tells it. The date is the front matter's ``date`` (else
  ``publishDate``, else ``lastmod``) in its own offset, or in the site's time zone
  when it has none.

Without a pattern the path follows Hugo's defaults (``uglyURLs = false``,
``disablePathToLower = false``): the file's path with the extension dropped, page
bundles (``index.md``) and sections (``_index.md``) taking their folder's path, each
segment sanitised like Hugo's ``MakePath`` (whitespace becomes ``-``, characters other
than letters, digits, marks and ``._-~+#@%`` are dropped) and lower-cased. A front
matter ``slug`` replaces the last segment (not for ``_index.md``, as in Hugo) and is
sanitised the same way; a front matter ``url`` replaces the whole path and is kept as
written.

What a single file cannot tell is taken as Hugo's default: a page's section is its
top-level folder (a deeper folder is a section only with an ``_index.md``; an
``_index.md`` page's own folders are its sections), and a section's slug is its
folder's name (Hugo first reads the section's ``_index.md``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from bot.articles.text import absolute_url

__all__ = [
    "Language",
    "Page",
    "PermalinkRule",
    "Site",
    "SiteConfig",
    "SiteConfigError",
    "expand_pattern",
    "merge_documents",
    "site_config",
]

DEFAULT_LANGUAGE: Final = "en"
DEFAULT_CONTENT_DIR: Final = "content"
_KINDS: Final = ("page", "section")
# Go's zero time, which Hugo's date tokens read for a page without a date.
_ZERO_DATE: Final = datetime(1, 1, 1)


class SiteConfigError(ValueError):
    """A site configuration the bot cannot use; the message names the key (and, from
    :func:`site_config`, the file that gave it). ``key`` is the top-level key."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class PermalinkRule:
    """One pattern: for pages (``page``) or section pages (``section``) of ``section``
    (a top-level section, or a deeper path such as ``posts/tech``; ``""`` is the root)."""

    kind: str
    section: str
    pattern: str

    def matches(self, kind: str, logical: str) -> bool:
        """Whether the rule applies to a page of ``kind`` at ``logical`` (``posts/x``)."""
        if kind != self.kind:
            return False
        if not self.section:
            return "/" not in logical  # Hugo's "/*": pages right at the root
        return logical == self.section or logical.startswith(self.section + "/")


@dataclass(frozen=True, slots=True)
class Language:
    """One entry of ``languages``: where its files are and where its pages go."""

    code: str
    content_dir: str | None = None
    base_url: str | None = None
    title: str | None = None
    permalinks: tuple[PermalinkRule, ...] | None = None


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """What the bot reads of a Hugo site's configuration.

    ``origins`` names, for every key found, the file that gave it (for the start-up
    log); ``files`` lists the files read, in the order they were merged.
    """

    base_url: str | None = None
    title: str | None = None
    time_zone: str | None = None
    content_dir: str = DEFAULT_CONTENT_DIR
    default_language: str = DEFAULT_LANGUAGE
    default_in_subdir: bool = False
    languages: tuple[Language, ...] = ()
    permalinks: tuple[PermalinkRule, ...] = ()
    origins: Mapping[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()

    def language(self, code: str) -> Language | None:
        """The configured language ``code`` (any case), if any."""
        code = code.lower()
        return next((lang for lang in self.languages if lang.code == code), None)


# --------------------------------------------------------------------------- reading


def _lower_keys(value: Any) -> Any:
    """Hugo's configuration keys are case-insensitive: lower-case every map key."""
    if isinstance(value, Mapping):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def _deep_merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def merge_documents(
    documents: Sequence[tuple[str, Mapping[str, Any]]],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge parsed configuration documents, later ones winning key by key (maps are
    merged deeply). Returns the merged map (keys lower-cased) and, for each top-level
    key and each ``languages.<code>`` entry, the name of the last document that set it."""
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, document in documents:
        if not isinstance(document, Mapping):
            raise SiteConfigError(f"{name}: expected a map of settings")
        lowered = _lower_keys(document)
        merged = _deep_merge(merged, lowered)
        for key, value in lowered.items():
            origins[key] = name
            if key == "languages" and isinstance(value, Mapping):
                for code in value:
                    origins[f"languages.{code}"] = name
    return merged, origins


def _top(where: str, key: str) -> str:
    """The top-level key of ``key`` read at ``where`` (``""`` or ``languages.fr.``)."""
    return where.split(".", 1)[0] if where else key


def _text(config: Mapping[str, Any], key: str, where: str) -> str | None:
    value = config.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        message = f"{where}{key}: expected text, got {type(value).__name__}"
        raise SiteConfigError(message, key=_top(where, key))
    return value.strip() or None


def _flag(config: Mapping[str, Any], key: str) -> bool:
    value = config.get(key, False)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise SiteConfigError(f"{key}: expected true or false, got {value!r:.40}", key=key)
    return value


def _base_url(config: Mapping[str, Any], where: str) -> str | None:
    value = _text(config, "baseurl", where)
    if value is None:
        return None
    if absolute_url(value, None) is None:
        message = f"{where}baseURL: expected an absolute http(s) URL, got {value!r}"
        raise SiteConfigError(message, key=_top(where, "baseurl"))
    return value.rstrip("/")


def _section_key(key: str) -> str:
    return "/".join(sanitise_segment(s) for s in key.strip(" /").split("/") if s.strip())


def _permalinks(value: Any, where: str) -> tuple[PermalinkRule, ...]:
    try:
        return _permalink_rules(value, where)
    except SiteConfigError as exc:
        raise SiteConfigError(str(exc), key=_top(where, "permalinks")) from None


def _permalink_rules(value: Any, where: str) -> tuple[PermalinkRule, ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise SiteConfigError(f"{where}permalinks: expected a map of sections to patterns")
    rules: list[PermalinkRule] = []
    for key, pattern in value.items():
        if isinstance(pattern, str):
            # The flat, older form: the pattern of a section's pages.
            rules.append(PermalinkRule("page", _section_key(key), pattern))
        elif isinstance(pattern, Mapping) and key in ("page", "section", "taxonomy", "term"):
            if key not in _KINDS:
                continue  # taxonomy and term pages are never articles
            for section, kind_pattern in pattern.items():
                if not isinstance(kind_pattern, str):
                    raise SiteConfigError(
                        f"{where}permalinks.{key}.{section}: expected a pattern (text)"
                    )
                rules.append(PermalinkRule(key, _section_key(section), kind_pattern))
        else:
            raise SiteConfigError(f"{where}permalinks.{key}: expected a pattern (text)")
    for rule in rules:
        try:  # refuse unknown tokens up front
            expand_pattern(rule.pattern, _probe_page())
        except SiteConfigError as exc:
            raise SiteConfigError(f"{where}permalinks: {exc}") from None
    return tuple(rules)


def _probe_page() -> Page:
    return Page(rel_path="s/p.md", title="t", slug=None, date=None)


def site_config(
    documents: Sequence[tuple[str, Mapping[str, Any]]],
) -> SiteConfig:
    """The site configuration from its documents, in Hugo's order (the main file, then
    the ``config/_default`` files, each already parsed). Raises
    :class:`SiteConfigError` naming the file and key of a value the bot cannot use."""
    config, origins = merge_documents(documents)
    try:
        return _site_config(config, origins, tuple(name for name, _ in documents))
    except SiteConfigError as exc:
        origin = origins.get(exc.key or "")
        raise SiteConfigError(f"{origin}: {exc}" if origin else str(exc), key=exc.key) from None


def _site_config(
    config: dict[str, Any], origins: dict[str, str], files: tuple[str, ...]
) -> SiteConfig:
    languages: list[Language] = []
    raw_languages = config.get("languages")
    if raw_languages is not None and not isinstance(raw_languages, Mapping):
        raise SiteConfigError("languages: expected a map of language codes", key="languages")
    for code, raw in (raw_languages or {}).items():
        where = f"languages.{code}."
        if not isinstance(raw, Mapping):
            message = f"languages.{code}: expected a map of settings"
            raise SiteConfigError(message, key="languages")
        content_dir = _text(raw, "contentdir", where)
        permalinks = raw.get("permalinks")
        languages.append(
            Language(
                code=str(code).lower(),
                content_dir=_clean_dir(content_dir) if content_dir else None,
                base_url=_base_url(raw, where),
                title=_text(raw, "title", where),
                permalinks=None if permalinks is None else _permalinks(permalinks, where),
            )
        )
    content_dir = _text(config, "contentdir", "")
    default = (_text(config, "defaultcontentlanguage", "") or DEFAULT_LANGUAGE).lower()
    return SiteConfig(
        base_url=_base_url(config, ""),
        title=_text(config, "title", ""),
        time_zone=_text(config, "timezone", ""),
        content_dir=_clean_dir(content_dir) if content_dir else DEFAULT_CONTENT_DIR,
        default_language=default,
        default_in_subdir=_flag(config, "defaultcontentlanguageinsubdir"),
        languages=tuple(languages),
        permalinks=_permalinks(config.get("permalinks"), ""),
        origins=origins,
        files=files,
    )


def _clean_dir(path: str) -> str:
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


# --------------------------------------------------------------------------- permalinks

_PATH_PUNCTUATION = frozenset("._-~+#@%")


def sanitise_segment(segment: str) -> str:
    """One path segment the way Hugo's ``MakePath`` writes it (lower-cased)."""
    out: list[str] = []
    pending_hyphen = False
    for ch in segment:
        if ch in _PATH_PUNCTUATION or ch.isalnum() or unicodedata.category(ch).startswith("M"):
            if pending_hyphen and ch != "-":
                out.append("-")
            pending_hyphen = False
            out.append(ch)
        elif ch.isspace() and out and out[-1] != "-":
            pending_hyphen = True
    return "".join(out).lower()


def permalink(rel_path: str, slug: str | None, url: str | None) -> tuple[str, bool]:
    """The article's path (its id) and whether that is already an absolute URL."""
    if url is not None:
        if absolute_url(url, None) is not None:
            return url, True
        return "/" + url.lstrip("/"), False
    if slug is not None and not sanitise_segment(slug):
        slug = None  # nothing usable left: keep the file's own name
    segments = [s for s in rel_path.replace("\\", "/").split("/") if s not in ("", ".")]
    name = segments.pop() if segments else ""
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    if stem == "_index":
        pass  # a section page: its folder's path; Hugo ignores `slug` here
    elif stem == "index":
        if slug is not None:
            segments[-1:] = [slug]
    else:
        segments.append(slug if slug is not None else stem)
    cleaned = [c for c in (sanitise_segment(s) for s in segments) if c]
    return ("/" + "/".join(cleaned) + "/") if cleaned else "/", False


@dataclass(frozen=True, slots=True)
class Page:
    """What a permalink pattern reads of one content file.

    ``rel_path`` is relative to its language's content folder, with any language code
    already taken out of the file name; ``date`` is in the offset the page's date was
    written in (``None``: no date).
    """

    rel_path: str
    title: str
    slug: str | None
    date: datetime | None

    @property
    def _parts(self) -> tuple[list[str], str]:
        segments = [s for s in self.rel_path.split("/") if s not in ("", ".")]
        name = segments.pop() if segments else ""
        stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
        return segments, stem

    @property
    def kind(self) -> str:
        """``section`` for an ``_index`` file, else ``page``."""
        return "section" if self._parts[1] == "_index" else "page"

    @property
    def logical(self) -> str:
        """The page's path without extension, as permalink rules match it."""
        folders, stem = self._parts
        if stem in ("index", "_index"):
            return "/".join(sanitise_segment(s) for s in folders)
        return "/".join(sanitise_segment(s) for s in [*folders, stem])

    @property
    def sections(self) -> list[str]:
        """The folders of the page's current section, top first: a section page's own
        folders; for other pages the top-level folder only, as a deeper folder is a
        section only with an ``_index.md`` of its own, which one file cannot tell."""
        folders, stem = self._parts
        return folders if stem == "_index" else folders[:1]

    @property
    def base_name(self) -> str:
        """Hugo's content base name: the file's name, or its bundle's folder."""
        folders, stem = self._parts
        if stem == "index":
            return folders[-1] if folders else ""
        return "" if stem == "_index" else stem


_ATTRIBUTE = re.compile(r":(\w+)(\[.+?\])?")
_ESCAPED_COLON = "\x00"
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _go_chunk(when: datetime, chunk: str) -> str:
    hour12 = when.hour % 12 or 12
    weekday = _DAYS[when.weekday()]
    return {
        "January": _MONTHS[when.month - 1],
        "Jan": _MONTHS[when.month - 1][:3],
        "Monday": weekday,
        "Mon": weekday[:3],
        "2006": f"{when.year:04d}",
        "06": f"{when.year % 100:02d}",
        "01": f"{when.month:02d}",
        "1": str(when.month),
        "002": f"{when.timetuple().tm_yday:03d}",
        "02": f"{when.day:02d}",
        "_2": f"{when.day:2d}",
        "2": str(when.day),
        "15": f"{when.hour:02d}",
        "03": f"{hour12:02d}",
        "3": str(hour12),
        "04": f"{when.minute:02d}",
        "4": str(when.minute),
        "05": f"{when.second:02d}",
        "5": str(when.second),
        "PM": "PM" if when.hour >= 12 else "AM",
        "pm": "pm" if when.hour >= 12 else "am",
        "MST": when.tzname() or "UTC",
    }[chunk]


# Longest first, so "2006" is not read as "2" then "006", nor "January" as "Jan". A
# token is word characters only (as in Hugo), so zone offsets such as "-0700" never are.
_GO_CHUNKS = re.compile(
    "January|Jan|Monday|Mon|2006|002|MST|PM|pm|06|01|02|_2|15|03|04|05|1|2|3|4|5"
)


def _go_layout(when: datetime, layout: str) -> str | None:
    """``when`` formatted with a Go time layout; ``None`` when ``layout`` holds no
    component (then it is not a time token at all)."""
    if _GO_CHUNKS.search(layout) is None:
        return None
    return _GO_CHUNKS.sub(lambda m: _go_chunk(when, m.group(0)), layout)


def _slice(cut: str, values: list[str]) -> list[str]:
    """Hugo's lenient ``[low:high]`` / ``[n]`` / ``[last]`` selection of sections."""
    cut = cut.strip().lower()
    if len(cut) < 3 or cut[0] != "[" or cut[-1] != "]":
        return []
    inner = cut[1:-1]

    def index(text: str, low: bool) -> int:
        text = text.strip()
        if text == "":
            return 0 if low else len(values)
        if text == "last":
            return len(values) - 1
        n = max(int(text), 0) if re.fullmatch(r"-?\d+", text) else 0
        if n >= len(values):
            return -1 if low else len(values)
        return n

    if not values:
        return []
    if ":" not in inner:
        n = index(inner, True)
        return [] if n < 0 or not values[n] else [values[n]]
    low_text, high_text = inner.split(":")[:2]
    low, high = index(low_text, True), index(high_text, False)
    return [] if low < 0 or high < 0 else values[low:high]


def _urlize(text: str) -> str:
    return "/".join(s for s in (sanitise_segment(p) for p in text.split("/")) if s)


def _token(name: str, cut: str | None, page: Page) -> str:
    when = page.date if page.date is not None else _ZERO_DATE
    slug = _urlize(page.slug) if page.slug else ""
    sections = page.sections
    simple = {
        "year": lambda: str(when.year),
        "month": lambda: f"{when.month:02d}",
        "monthname": lambda: _MONTHS[when.month - 1],
        "day": lambda: f"{when.day:02d}",
        "weekday": lambda: str((when.weekday() + 1) % 7),  # Sunday = 0
        "weekdayname": lambda: _DAYS[when.weekday()],
        "yearday": lambda: str(when.timetuple().tm_yday),
        "section": lambda: sections[0] if sections else "",
        "sectionslug": lambda: _urlize(sections[0]) if sections else "",
        "title": lambda: _urlize(page.title),
        "slug": lambda: slug or _urlize(page.title),
        "filename": lambda: _urlize(page.base_name),
        "contentbasename": lambda: _urlize(page.base_name),
        "slugorfilename": lambda: slug or _urlize(page.base_name),
        "slugorcontentbasename": lambda: slug or _urlize(page.base_name),
    }
    if name in ("sections", "sectionslugs"):
        chosen = sections if cut is None else _slice(cut, sections)
        if name == "sectionslugs":
            chosen = [_urlize(s) for s in chosen]
        return "/".join(chosen)
    if cut is None and name in simple:
        return simple[name]()
    formatted = _go_layout(when, name) if cut is None else None
    if formatted is None:
        raise SiteConfigError(f"unknown permalink token :{name}{cut or ''}")
    return formatted


def expand_pattern(pattern: str, page: Page) -> str:
    """A permalink pattern expanded for ``page``: the URL path, starting and (unless it
    names a file, ``.html``) ending with ``/``, lower-cased as Hugo writes it. Raises
    :class:`SiteConfigError` for a token Hugo does not know."""
    text = pattern.replace("\\:", _ESCAPED_COLON)
    expanded = _ATTRIBUTE.sub(lambda m: _token(m.group(1), m.group(2), page), text)
    path = expanded.replace(_ESCAPED_COLON, ":")
    path = "/" + "/".join(s for s in path.split("/") if s)
    last = path.rsplit("/", 1)[-1]
    if "." not in last and not path.endswith("/"):
        path += "/"
    return path.lower()


# --------------------------------------------------------------------------- the site


@dataclass(frozen=True, slots=True)
class Site:
    """A site as articles are read in it: its configuration, the effective site URL and
    name (settings from the environment already applied), and where each language's
    own content folder lies inside the watched folder (``(folder, code)``, POSIX paths
    relative to it). ``Site()`` is a site without configuration: Hugo's defaults."""

    config: SiteConfig = field(default_factory=SiteConfig)
    site_url: str | None = None
    name: str | None = None
    language_dirs: tuple[tuple[str, str], ...] = ()

    def fingerprint(self) -> str:
        """A digest of everything here that shapes an article (which files gave the
        configuration does not): a change of it re-renders the stored posts."""
        shaping = (replace(self.config, origins={}, files=()), self.name, self.language_dirs)
        return hashlib.blake2b(repr(shaping).encode(), digest_size=8).hexdigest()

    def locate(self, rel_path: str) -> tuple[str, str]:
        """The language of the file at ``rel_path`` (relative to the watched folder) and
        its path relative to that language's content, language code taken out."""
        rel_path = rel_path.replace("\\", "/")
        for folder, code in sorted(self.language_dirs, key=lambda d: -len(d[0])):
            if folder == "" or rel_path.startswith(folder + "/"):
                return code, rel_path[len(folder) + 1 :] if folder else rel_path
        folder, _, name = rel_path.rpartition("/")
        parts = name.split(".")
        # "post.fr.md": the code sits between the name and the extension.
        if len(parts) >= 3 and (code := parts[-2].lower()) and self._known(code):
            name = ".".join(parts[:-2] + parts[-1:])
            return code, f"{folder}/{name}" if folder else name
        return self.config.default_language, rel_path

    def _known(self, code: str) -> bool:
        return code == self.config.default_language or self.config.language(code) is not None

    def base_url(self, code: str) -> str | None:
        """Where the pages of language ``code`` live: its own ``baseURL``, else the site's."""
        language = self.config.language(code)
        if language is not None and language.base_url is not None:
            return language.base_url
        return self.site_url

    def name_of(self, code: str) -> str | None:
        """The site name shown in posts of language ``code``: its own ``title``, else
        the site's."""
        language = self.config.language(code)
        if language is not None and language.title is not None:
            return language.title
        return self.name

    def permalink(
        self, rel_path: str, *, title: str, slug: str | None, url: str | None, date: datetime | None
    ) -> tuple[str, str | None]:
        """The file's page path (the article's id, with its language prefix) and its
        absolute URL (``None`` without a site URL)."""
        code, rel = self.locate(rel_path)
        base = self.base_url(code)
        if url is not None:
            path, is_absolute = permalink(rel, None, url)
            if is_absolute:
                return path, path
        else:
            page = Page(rel_path=rel, title=title, slug=slug, date=date)
            language = self.config.language(code)
            rules = self.config.permalinks
            if language is not None and language.permalinks is not None:
                rules = language.permalinks
            rule = next((r for r in rules if r.matches(page.kind, page.logical)), None)
            if rule is not None:
                path = expand_pattern(rule.pattern, page)
            else:
                path, _ = permalink(rel, slug, None)
            own_host = language is not None and language.base_url is not None
            if not own_host and (
                code != self.config.default_language or self.config.default_in_subdir
            ):
                path = f"/{code}{path}"
        absolute = absolute_url("./" + path.lstrip("/"), base) if base else None
        return path, absolute
