"""A site's git repository: the bot's own clone, fetched on a timer or when a push
webhook asks, and read through the content folder source.

Only the ``git`` command touches the repository: asyncio subprocesses, no shell, a time
limit, never a prompt. Credentials are on no command line (where any local user could
read them) and not on disk: git gets the URL without them, and a credential helper the
bot defines in git's environment (``GIT_CONFIG_*``, git 2.31 or later) answers with
them from there. Every message that could hold the URL is redacted.

Each fetch brings the watched branch's tip into a private ref; the files that differ
between the checked-out commit and the new one (``git diff --name-only -z``, old and
new paths of a rename alike) are checked out and handed to
:meth:`ContentSource.handle_changes`, which decides from the checkout what is new,
changed or gone. A force-push is no different: what differs is read again, and the
store, which keys articles and never announces one twice, announces only what is new.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from bot.articles.site import SiteConfig, SiteConfigError
from bot.redaction import USERINFO, redact
from bot.sources.content import PARALLEL_MIN, ContentSource, is_utf8_name, is_within
from bot.sources.events import wait_any
from bot.sources.site import read_site_config
from bot.store import DatabaseLost, Store

log = logging.getLogger(__name__)

#: Seconds any one git command may take (a first clone of a large site included).
GIT_TIMEOUT = 600.0
#: Where each fetch leaves the watched branch's tip, inside the clone.
FETCHED_REF = "refs/newsbot/fetched"
#: More changed files than this in one fetch: a full scan of the checkout (it reads in
#: worker processes and writes in large batches) rather than the list one by one.
SCAN_OVER = PARALLEL_MIN

# The user information of a URL (``https://user:token@host``): everything between
# "://" and the last "@" before the path.


class GitError(Exception):
    """A git command failed or timed out; the message holds no credentials."""


# Git runs it through the shell with the action ("get", "store", "erase") as its
# argument; it answers "get" with the user name and password in its environment.
_CREDENTIAL_HELPER = (
    '!f() { test "$1" = get && printf "username=%s\\npassword=%s\\n"'
    ' "$NEWSBOT_GIT_USERNAME" "$NEWSBOT_GIT_PASSWORD"; }; f'
)


def git_access(url: str) -> tuple[str, dict[str, str]]:
    """How git is given ``url``: the URL for its command line, without credentials,
    and the environment that hands them to git, through a credential helper for that
    URL's scheme and host only (helpers of the user's own git config are switched off,
    so none stores them). Only http(s) URLs carry credentials this way; others (an ssh
    user name is no secret) are given as they are."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or "@" not in parts.netloc:
        return url, {}
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host)), {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "credential.helper",
        "GIT_CONFIG_VALUE_0": "",
        "GIT_CONFIG_KEY_1": f"credential.{parts.scheme}://{host}.helper",
        "GIT_CONFIG_VALUE_1": _CREDENTIAL_HELPER,
        "NEWSBOT_GIT_USERNAME": unquote(parts.username or ""),
        "NEWSBOT_GIT_PASSWORD": unquote(parts.password or ""),
    }


def clone_path(database: Path, url: str) -> Path:
    """Where the bot keeps its clone of ``url``: beside the database, one folder per
    repository. Credentials are not part of its name, so a new token keeps the clone."""
    public = USERINFO.sub("", url.strip()).rstrip("/")
    name = public.rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git")
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")[:40] or "repository"
    digest = hashlib.sha256(public.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return database.parent / f"{database.name}-git" / f"{slug}-{digest}"


def remote_head(ls_remote: str) -> str | None:
    """The branch that ``git ls-remote --symref URL HEAD`` says HEAD points at."""
    for line in ls_remote.splitlines():
        ref, _, name = line.removeprefix("ref: ").partition("\t")
        if line.startswith("ref: ") and name == "HEAD" and ref.startswith("refs/heads/"):
            return ref.removeprefix("refs/heads/")
    return None


def changed_paths(diff_z: bytes) -> list[str]:
    """The paths of ``git diff --name-only -z`` output (names as the file system has
    them: bytes that are not UTF-8 kept as Python keeps them in file names)."""
    return [os.fsdecode(part) for part in diff_z.split(b"\0") if part]


async def run_git(
    *args: str,
    cwd: Path | None = None,
    url: str | None = None,
    timeout: float = GIT_TIMEOUT,  # noqa: ASYNC109
    env: Mapping[str, str] | None = None,
) -> bytes:
    """Run ``git ARGS``, with ``env`` added to the environment, and return its
    standard output.

    Never prompts (``GIT_TERMINAL_PROMPT=0``, and no terminal at all: ssh cannot ask
    either); killed with every process it started after ``timeout`` seconds or when
    cancelled. Raises :class:`GitError` with git's own words, credentials of ``url``
    redacted.
    """
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
    process = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        raise GitError(f"git {args[0]} took longer than {timeout:g} s") from None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await asyncio.shield(process.wait())
    if process.returncode != 0:
        words = err.decode("utf-8", "replace").strip().splitlines()
        said = "; ".join(line.removeprefix("fatal: ") for line in words[-3:]) or "no message"
        raise GitError(redact(f"git {args[0]} failed: {said}", url))
    return out


class GitSource:
    """Keeps a clone of one repository, and the store in step with its content folder."""

    def __init__(
        self,
        store: Store,
        url: str,
        *,
        clone_dir: Path,
        branch: str | None,
        interval: float,
        content_source: Callable[[Path, Path], ContentSource],
    ) -> None:
        self.store = store
        self.url = url
        self.public_url = redact(url, url)
        # What git's command line gets, and the environment holding the credentials.
        self.remote, self._env = git_access(url)
        self.clone_dir = clone_dir
        self.branch = branch  # as configured; else the remote's HEAD, once known
        self.interval = interval
        # Makes the source of a content folder (the checkout's) of the site at a root
        # (the checkout): the same rules, settings and site config reading as a
        # configured content folder.
        self._content_source = content_source
        self.content: ContentSource | None = None
        # The checkout's site config and content folder, as the content source reads them.
        self._site_config = SiteConfig()
        self._content_dir = clone_dir
        #: The commit checked out and read; ``None`` before this process read one.
        self.head: str | None = None
        #: Completed fetches since start (the webhook tests count them).
        self.fetches = 0
        #: Set once the first checkout is read (on the first clone: the baseline).
        self.ready = asyncio.Event()
        # The next round checks out and reads the whole folder: the first of each
        # :meth:`run`, since the clone's HEAD says what the store holds only while this
        # process alone writes it (another process may have led meanwhile, its clone
        # reading commits this one never saw: a file changed and changed back would be
        # in no diff of this clone's).
        self._read_all = True
        self._wanted = asyncio.Event()
        self._stop = asyncio.Event()
        self._failing: str | None = None

    def fetch_now(self) -> None:
        """Fetch at once; a fetch running now is followed by exactly one more."""
        self._wanted.set()

    @property
    def fetch_wanted(self) -> bool:
        """Whether a fetch was asked for and has not started yet."""
        return self._wanted.is_set()

    async def _git(self, *args: str) -> bytes:
        return await run_git(*args, cwd=self.clone_dir, url=self.url, env=self._env)

    async def _open(self) -> None:
        """The clone's repository, created empty on first use."""
        if not (self.clone_dir / ".git").is_dir():
            log.info(
                "git %s: first clone into %s (what it holds is recorded, not announced)",
                self.public_url,
                self.clone_dir,
            )
            self.clone_dir.mkdir(parents=True, exist_ok=True)
            await run_git("init", "--quiet", str(self.clone_dir), url=self.url)
        elif self.content is None:
            # Only this process uses the clone: a lock left by a git killed mid-way
            # (the bot was, say) is stale and would fail every later checkout.
            (self.clone_dir / ".git" / "index.lock").unlink(missing_ok=True)
        self.clone_dir = self.clone_dir.resolve()

    async def _watched_branch(self) -> str:
        if self.branch is None:
            said = await self._git("ls-remote", "--symref", self.remote, "HEAD")
            branch = remote_head(said.decode("utf-8", "replace"))
            if branch is None:
                raise GitError(
                    "the remote names no default branch (is it empty?); set NEWSBOT_GIT_BRANCH"
                )
            self.branch = branch
            log.info("git %s: watching the remote's default branch %s", self.public_url, branch)
        return self.branch

    async def _commit(self, ref: str) -> str | None:
        try:
            out = await self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except GitError:
            return None
        return out.decode().strip()

    async def update(self) -> None:
        """Fetch the watched branch, check its tip out, and read what changed.

        The first round of a process, and of each :meth:`run` (a process that leads
        again), checks out and scans the whole content folder (on the first clone that
        is the baseline; after a restart it catches up with anything a crash left
        half-done, or another process's clone recorded); later rounds read only the
        changed files.
        """
        await self._open()
        branch = await self._watched_branch()
        await self._git(
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-recurse-submodules",
            self.remote,
            f"+refs/heads/{branch}:{FETCHED_REF}",
        )
        self.fetches += 1
        new = await self._commit(FETCHED_REF)
        if new is None:
            raise GitError(f"the fetched branch {branch} holds no commit")
        old = await self._commit("HEAD")
        if self.content is None or self._read_all:
            # Always, even with no new commit: a checkout a crash left half-done (or a
            # file edited by hand in the clone) is put right before the scan.
            await self._checkout(new)
            if await self._scan():
                self.head = new
                self._read_all = False
                self.ready.set()
            return
        if new == old:
            return
        content = self.content
        # Both resolved: the content folder's path inside the checkout, as git names it.
        subdir = str(content.root)[len(str(self.clone_dir)) + 1 :]
        prefix = subdir + "/" if subdir else ""
        changed: list[str] | None = None  # None: read every file
        try:
            if old is not None:
                diff = await self._git("diff", "--name-only", "-z", "--no-renames", old, new)
                # Names that are not UTF-8 are skipped (the store cannot hold them; a
                # full scan says so once).
                changed = [
                    os.path.join(self.clone_dir, p)
                    for p in changed_paths(diff)
                    if p.startswith(prefix) and is_utf8_name(p)
                ]
        except GitError as exc:
            log.warning("git %s: cannot compare %s with %s (%s)", self.public_url, old, new, exc)
        await self._checkout(new)
        try:
            same_site = read_site_config(self.clone_dir) == self._site_config
        except SiteConfigError:
            self.content = None  # read in full once the config reads again
            raise
        if not same_site:
            # New URLs, languages or content folder: every file is read again in it
            # (nothing announced again).
            self.content = None
            changed = None
        log.info(
            "git %s: %s..%s, %s",
            self.public_url,
            (old or "")[:12],
            new[:12],
            "reading every file" if changed is None else f"files changed: {len(changed)}",
        )
        if changed is None or len(changed) > SCAN_OVER:
            if not await self._scan():
                return  # stopping: the next start scans (HEAD is the new commit)
        elif changed:
            await content.handle_changes(changed, settle=False)
        self.head = new

    async def _checkout(self, commit: str) -> None:
        await self._git("checkout", "--quiet", "--force", "--detach", commit)

    async def _scan(self) -> bool:
        """Scan the whole content folder; false when stopped before its end."""
        if self.content is None:
            # The site's config names its content folder (Hugo's default: content/).
            self._site_config = read_site_config(self.clone_dir)
            self._content_dir = self.clone_dir / self._site_config.content_dir
        root = self._content_dir
        # Whoever can push must not make the bot read its own machine's files.
        resolved = root.resolve()
        if resolved != self.clone_dir and not is_within(str(self.clone_dir), str(resolved)):
            raise GitError(f"{root.name} is a link out of the repository; not read")
        # A commit without the folder holds no articles (and the scan needs a folder).
        root.mkdir(parents=True, exist_ok=True)
        if self.content is None:
            self.content = self._content_source(root, self.clone_dir)
        stats = await self.content.scan(self._stop)
        if stats.complete:
            log.info(
                "git %s: %d files in %s (%d read, %d rejected, %d removed) in %.2f s",
                self.public_url,
                stats.files,
                self.content.root,
                stats.read,
                stats.rejected,
                stats.removed,
                stats.seconds,
            )
        return stats.complete

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch every ``interval`` seconds, and at once when asked, until ``stop``.
        The first round reads the whole checkout (see :meth:`update`)."""
        self._stop = stop
        self._read_all = True
        while not stop.is_set():
            self._wanted.clear()
            try:
                await self.update()
            except (GitError, OSError) as exc:
                self._report(redact(str(exc), self.url))
            except DatabaseLost:
                return  # the bot is stopping; its database watch says why, once
            except SiteConfigError as exc:
                # A commit whose site config cannot be used: the next fetch may fix it.
                self._report(f"site configuration: {exc}")
            except Exception:
                log.exception("git %s: unexpected error; retrying", self.public_url)
            else:
                if self._failing is not None:
                    log.info("git %s: fetching works again", self.public_url)
                    self._failing = None
            if not self._wanted.is_set():
                await wait_any(stop, self._wanted, seconds=self.interval)

    def _report(self, error: str) -> None:
        """Log a failure once, not on every retry; a new one is logged again."""
        if error != self._failing:
            log.warning("git %s: %s (retrying every %g s)", self.public_url, error, self.interval)
            self._failing = error
        else:
            log.debug("git %s: still failing: %s", self.public_url, error)
