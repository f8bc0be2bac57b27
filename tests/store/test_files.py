"""The ingest rules for content files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot.store import Change, FileItem, IngestResult, SourceRow, Store
from bot.store.columns import article_columns
from bot.store.ingest import ARTICLE_COLUMNS
from tests.store.helpers import DAY, T0, art, item
from tests.store.invariants import check_lookup_invariants

MIN = timedelta(minutes=1)


async def record(
    store: Store,
    src: SourceRow,
    *items: FileItem,
    now: datetime = T0,
    removed: Sequence[str] = (),
) -> list[IngestResult]:
    return await store.record_files(src.id, list(items), now, removed=removed)


async def pending_kinds(store: Store) -> list[tuple[str, str]]:
    return [(a.kind, a.article.key) for a in await store.pending_announcements()]


async def test_new_published_file_is_announced_once(store: Store, content: SourceRow) -> None:
    a = art("/a/")
    [r] = await record(store, content, item("a.md", a))
    assert r.change is Change.NEW and r.announced == "published" and r.status == "published"
    stored = await store.get(r.article_id)  # type: ignore[arg-type]
    assert stored is not None and stored.announced_at == T0 and stored.version == 1
    assert stored.message == {"content": a.title, "embeds": [{"title": a.title}]}
    assert stored.to_article() == a
    assert await pending_kinds(store) == [("published", "/a/")]


async def test_same_file_again_is_unchanged_and_writes_nothing(
    store: Store, content: SourceRow
) -> None:
    a = art("/a/")
    await record(store, content, item("a.md", a))
    before = await store.get(1)
    [r] = await record(store, content, item("a.md", a), now=T0 + DAY)
    assert r.change is Change.UNCHANGED and r.announced is None and r.article_id == 1
    assert await store.get(1) == before
    assert len(await store.pending_announcements()) == 1


async def test_unchanged_file_with_new_mtime_updates_the_stat_only(
    store: Store, content: SourceRow
) -> None:
    a = art("/a/")
    await record(store, content, item("a.md", a, mtime_ns=1))
    [r] = await record(store, content, item("a.md", a, mtime_ns=2, size=7))
    assert r.change is Change.UNCHANGED
    row = (await store.files(content.id))["a.md"]
    assert (row.mtime_ns, row.size, row.article_key, row.error) == (2, 7, "/a/", None)
    assert await store.file_stats(content.id) == {"a.md": (7, 2)}


async def test_single_file_api(store: Store, content: SourceRow) -> None:
    a = art("/a/")
    r = await store.record_file(
        content.id,
        "a.md",
        size=1,
        mtime_ns=2,
        file_hash="h",
        article=a,
        article_hash="x",
        message={"content": "hi"},
        error=None,
        now=T0,
    )
    assert r.change is Change.NEW
    r = await store.remove_file(content.id, "a.md", T0)
    assert r.change is Change.WITHDRAWN and r.status == "withdrawn"
    assert await store.files(content.id) == {}
    assert await store.file_stats(content.id) == {}
    assert (await store.remove_file(content.id, "a.md", T0)).change is Change.UNCHANGED


async def test_first_start_records_without_announcing(store: Store) -> None:
    src = await store.source("content", "/fresh")
    results = await record(store, src, item("a.md", art("/a/")), item("b.md", art("/b/")))
    assert [r.change for r in results] == [Change.NEW, Change.NEW]
    assert all(r.announced is None for r in results)
    assert (await store.get(1)).announced_at == T0  # type: ignore[union-attr]
    assert await store.pending_announcements() == []
    await store.mark_baseline_done(src.id, T0)
    assert (await store.get_source(src.id)).baseline_done  # type: ignore[union-attr]
    # Known articles stay quiet, a new one is announced.
    results = await record(
        store, src, item("a.md", art("/a/")), item("c.md", art("/c/")), now=T0 + MIN
    )
    assert [(r.change, r.announced) for r in results] == [
        (Change.UNCHANGED, None),
        (Change.NEW, "published"),
    ]
    assert await pending_kinds(store) == [("published", "/c/")]


async def test_baseline_is_per_source(store: Store, content: SourceRow) -> None:
    other = await store.source("content", "/other")
    [r] = await record(store, other, item("a.md", art("/a/")))
    assert r.announced is None
    [r] = await record(store, content, item("a.md", art("/a/")))
    assert r.announced == "published"


async def test_draft_scheduled_expired_are_not_announced(store: Store, content: SourceRow) -> None:
    results = await record(
        store,
        content,
        item("d.md", art("/d/", draft=True)),
        item("s.md", art("/s/", date=T0 + DAY)),
        item("e.md", art("/e/", expiry=T0 - MIN)),
    )
    assert [(r.change, r.status, r.announced) for r in results] == [
        (Change.NEW, "draft", None),
        (Change.NEW, "scheduled", None),
        (Change.NEW, "expired", None),
    ]
    assert await store.pending_announcements() == []


async def test_draft_to_published_is_announced(store: Store, content: SourceRow) -> None:
    await record(store, content, item("a.md", art("/a/", draft=True)))
    [r] = await record(store, content, item("a.md", art("/a/")), now=T0 + MIN)
    assert (r.change, r.announced) == (Change.PUBLISHED, "published")


async def test_published_to_draft_and_back_is_not_reannounced(
    store: Store, content: SourceRow
) -> None:
    await record(store, content, item("a.md", art("/a/")))
    [r] = await record(store, content, item("a.md", art("/a/", draft=True)), now=T0 + MIN)
    assert (r.change, r.status) == (Change.WITHDRAWN, "draft")
    stored = await store.get(1)
    assert stored is not None and stored.withdrawn_at == T0 + MIN
    assert await store.latest(None, 10) == []
    [r] = await record(store, content, item("a.md", art("/a/")), now=T0 + 2 * MIN)
    assert (r.change, r.status, r.announced) == (Change.PUBLISHED, "published", None)
    stored = await store.get(1)
    assert stored is not None and stored.withdrawn_at is None and stored.announced_at == T0
    assert await pending_kinds(store) == [("published", "/a/")]


async def test_new_draft_has_no_withdrawn_at(store: Store, content: SourceRow) -> None:
    await record(store, content, item("a.md", art("/a/", draft=True)))
    assert (await store.get(1)).withdrawn_at is None  # type: ignore[union-attr]


async def test_changed_published_article_is_updated(store: Store, content: SourceRow) -> None:
    await record(store, content, item("a.md", art("/a/", "Old")))
    [done] = await store.pending_announcements()
    await store.complete_announcement(done.id, T0)
    [r] = await record(store, content, item("a.md", art("/a/", "New")), now=T0 + MIN)
    assert (r.change, r.announced) == (Change.CHANGED, "updated")
    stored = await store.get(1)
    assert stored is not None
    assert (stored.title, stored.version, stored.changed_at) == ("New", 2, T0 + MIN)
    assert stored.first_seen_at == T0
    [upd] = await store.pending_announcements()
    assert (upd.kind, upd.article.title) == ("updated", "New")
    # A second edit while the update is pending: one pending 'updated', version 3.
    [r] = await record(store, content, item("a.md", art("/a/", "Newer")), now=T0 + 2 * MIN)
    assert (r.change, r.announced) == (Change.CHANGED, None)
    [upd2] = await store.pending_announcements()
    assert upd2.id == upd.id and upd2.article.title == "Newer" and upd2.article.version == 3


async def test_change_while_published_announcement_pending_adds_nothing(
    store: Store, content: SourceRow
) -> None:
    await record(store, content, item("a.md", art("/a/", "Old")))
    [r] = await record(store, content, item("a.md", art("/a/", "New")), now=T0 + MIN)
    assert (r.change, r.announced) == (Change.CHANGED, None)
    [pub] = await store.pending_announcements()
    assert (pub.kind, pub.article.title) == ("published", "New")


async def test_change_during_baseline_is_not_announced(store: Store) -> None:
    src = await store.source("content", "/fresh")
    await record(store, src, item("a.md", art("/a/", "Old")))
    [r] = await record(store, src, item("a.md", art("/a/", "New")))
    assert (r.change, r.announced) == (Change.CHANGED, None)
    assert (await store.get(1)).version == 2  # type: ignore[union-attr]


async def test_changed_draft_is_not_announced(store: Store, content: SourceRow) -> None:
    await record(store, content, item("a.md", art("/a/", "Old", draft=True)))
    [r] = await record(store, content, item("a.md", art("/a/", "New", draft=True)))
    assert (r.change, r.announced) == (Change.CHANGED, None)
    assert (await store.get(1)).version == 1  # type: ignore[union-attr]


async def test_removed_file_withdraws_and_recreation_restores_quietly(
    store: Store, content: SourceRow
) -> None:
    a = art("/a/")
    await record(store, content, item("a.md", a))
    [r] = await record(store, content, removed=["a.md"], now=T0 + MIN)
    assert (r.change, r.article_id, r.status) == (Change.WITHDRAWN, 1, "withdrawn")
    stored = await store.get(1)
    assert stored is not None and stored.withdrawn_at == T0 + MIN
    assert await store.latest(None, 10) == [] and await store.files(content.id) == {}
    # Re-created a day later (out of the move window) with other bytes.
    [r] = await record(store, content, item("a.md", a, file_hash="other"), now=T0 + DAY)
    assert (r.change, r.article_id, r.status, r.announced) == (
        Change.RESTORED,
        1,
        "published",
        None,
    )
    assert (await store.get(1)).withdrawn_at is None  # type: ignore[union-attr]
    assert await pending_kinds(store) == [("published", "/a/")]


async def test_restored_with_new_content_is_updated_not_published(
    store: Store, content: SourceRow
) -> None:
    await record(store, content, item("a.md", art("/a/", "Old")))
    await store.complete_announcement(1, T0)
    await record(store, content, removed=["a.md"])
    [r] = await record(store, content, item("a.md", art("/a/", "New")), now=T0 + DAY)
    assert (r.change, r.announced) == (Change.RESTORED, "updated")


async def test_move_keeps_identity(store: Store, content: SourceRow) -> None:
    # The key comes from the path: a move changes it; the bytes stay the same.
    await record(store, content, item("old.md", art("/old/"), file_hash="B"))
    results = await record(
        store,
        content,
        item("new.md", art("/new/"), file_hash="B"),
        removed=["old.md"],
        now=T0 + MIN,
    )
    assert [(r.change, r.article_id) for r in results] == [
        (Change.WITHDRAWN, 1),
        (Change.MOVED, 1),
    ]
    assert results[1].status == "published" and await store.article_count() == 1
    stored = await store.get(1)
    assert stored is not None and stored.key == "/new/" and stored.withdrawn_at is None
    files = await store.files(content.id)
    assert list(files) == ["new.md"] and files["new.md"].article_key == "/new/"
    assert await pending_kinds(store) == [("published", "/new/")]


async def test_move_in_separate_calls_within_window(store: Store, content: SourceRow) -> None:
    await record(store, content, item("old.md", art("/old/"), file_hash="B"))
    await store.complete_announcement(1, T0)
    await record(store, content, removed=["old.md"], now=T0 + MIN)
    [r] = await record(
        store, content, item("new.md", art("/new/"), file_hash="B"), now=T0 + 9 * MIN
    )
    assert (r.change, r.article_id) == (Change.MOVED, 1)
    # The URL changed: posted messages get edited.
    assert r.announced == "updated"


async def test_move_with_same_key(store: Store, content: SourceRow) -> None:
    a = art("/slug/")
    await record(store, content, item("2023/a.md", a, file_hash="B"))
    results = await record(
        store, content, item("2024/a.md", a, file_hash="B"), removed=["2023/a.md"], now=T0
    )
    assert [r.change for r in results] == [Change.WITHDRAWN, Change.MOVED]
    assert results[1].announced is None
    assert list(await store.files(content.id)) == ["2024/a.md"]


async def test_reappearing_after_the_window_is_new(store: Store, content: SourceRow) -> None:
    await record(store, content, item("old.md", art("/old/"), file_hash="B"))
    await record(store, content, removed=["old.md"], now=T0 + MIN)
    [r] = await record(
        store, content, item("new.md", art("/new/"), file_hash="B"), now=T0 + 12 * MIN
    )
    assert (r.change, r.article_id, r.announced) == (Change.NEW, 2, "published")


async def test_copy_is_not_a_move(store: Store, content: SourceRow) -> None:
    await record(store, content, item("a.md", art("/a/"), file_hash="B"))
    [r] = await record(store, content, item("b.md", art("/b/"), file_hash="B"))
    assert (r.change, r.article_id, r.announced) == (Change.NEW, 2, "published")


async def test_rejected_file_is_reported_once_and_retried_when_changed(
    store: Store, content: SourceRow
) -> None:
    [r] = await record(store, content, item("bad.md", error="no title", file_hash="X"))
    assert (r.change, r.article_id) == (Change.REJECTED, None)
    row = (await store.files(content.id))["bad.md"]
    assert (row.error, row.article_key, row.content_hash) == ("no title", None, "X")
    [r] = await record(store, content, item("bad.md", error="no title", file_hash="X"))
    assert r.change is Change.UNCHANGED
    [r] = await record(store, content, item("bad.md", error="no date", file_hash="Y"))
    assert r.change is Change.REJECTED
    [r] = await record(store, content, item("bad.md", art("/ok/"), file_hash="Z"))
    assert (r.change, r.announced) == (Change.NEW, "published")
    assert (await store.files(content.id))["bad.md"].error is None
    [r] = await record(store, content, removed=["bad.md"])
    assert r.change is Change.WITHDRAWN


async def test_rejected_file_forgotten(store: Store, content: SourceRow) -> None:
    await record(store, content, item("bad.md", error="no title"))
    [r] = await record(store, content, removed=["bad.md"])
    assert (r.change, r.article_id) == (Change.REMOVED, None)


async def test_broken_edit_withdraws_and_fix_restores(store: Store, content: SourceRow) -> None:
    await record(store, content, item("a.md", art("/a/")))
    [r] = await record(store, content, item("a.md", error="bad yaml"), now=T0 + MIN)
    assert (r.change, r.article_id, r.status) == (Change.WITHDRAWN, 1, "withdrawn")
    row = (await store.files(content.id))["a.md"]
    assert (row.error, row.article_key) == ("bad yaml", None)
    [r] = await record(store, content, item("a.md", art("/a/")), now=T0 + 2 * MIN)
    assert (r.change, r.article_id, r.announced) == (Change.RESTORED, 1, None)
    assert await pending_kinds(store) == [("published", "/a/")]


async def test_changed_key_in_same_file_rekeys(store: Store, content: SourceRow) -> None:
    await record(store, content, item("a.md", art("/old-slug/")))
    await store.complete_announcement(1, T0)
    [r] = await record(store, content, item("a.md", art("/new-slug/")), now=T0 + MIN)
    assert (r.change, r.article_id, r.announced) == (Change.CHANGED, 1, "updated")
    assert (await store.get(1)).key == "/new-slug/"  # type: ignore[union-attr]
    assert await store.article_count() == 1


async def test_keys_swapped_between_files(store: Store, content: SourceRow) -> None:
    await record(store, content, item("a.md", art("/a/")), item("b.md", art("/b/")))
    results = await record(
        store, content, item("a.md", art("/b/")), item("b.md", art("/a/")), now=T0 + MIN
    )
    # a.md now wants /b/, which b.md still has: rejected, /a/ withdrawn. Then b.md
    # takes /a/ back, releasing /b/, so a.md is forgotten to be read again by the
    # next scan.
    assert [(r.change, r.article_id) for r in results] == [
        (Change.WITHDRAWN, 1),
        (Change.RESTORED, 1),
    ]
    assert list(await store.files(content.id)) == ["b.md"]
    results = await record(
        store, content, item("a.md", art("/b/")), item("b.md", art("/a/")), now=T0 + 2 * MIN
    )
    assert [(r.change, r.article_id) for r in results] == [
        (Change.MOVED, 2),
        (Change.UNCHANGED, 1),
    ]
    files = await store.files(content.id)
    assert {p: f.article_key for p, f in files.items()} == {"a.md": "/b/", "b.md": "/a/"}
    assert [a.kind for a in await store.pending_announcements()] == ["published", "published"]
    assert len(await store.latest(None, 10)) == 2


async def test_duplicate_key_is_rejected_until_the_owner_goes(
    store: Store, content: SourceRow
) -> None:
    await record(store, content, item("a.md", art("/same/", "A")))
    await store.complete_announcement(1, T0)
    [r] = await record(store, content, item("b.md", art("/same/", "B")))
    assert (r.change, r.article_id) == (Change.REJECTED, None)
    err = (await store.files(content.id))["b.md"].error
    assert err is not None and "duplicate" in err and "a.md" in err
    [r] = await record(store, content, item("b.md", art("/same/", "B")))
    assert r.change is Change.UNCHANGED
    # The owner goes: the duplicate is forgotten, so the next scan reads it again.
    await record(store, content, removed=["a.md"], now=T0 + DAY)
    assert list(await store.files(content.id)) == []
    [r] = await record(store, content, item("b.md", art("/same/", "B")), now=T0 + DAY)
    assert (r.change, r.article_id, r.announced) == (Change.RESTORED, 1, "updated")
    assert (await store.get(1)).title == "B"  # type: ignore[union-attr]


async def test_tags_follow_the_article(store: Store, content: SourceRow) -> None:
    await record(store, content, item("a.md", art("/a/", tags=("Python", "AI"))))
    await record(store, content, item("a.md", art("/a/", tags=("python", "Rust"))))
    assert await store.tags() == [("python", 1), ("Rust", 1)]
    assert [a.key for a in await store.latest("RUST", 10)] == ["/a/"]
    assert await store.latest("ai", 10) == []


async def test_unknown_source(store: Store) -> None:
    import pytest

    with pytest.raises(KeyError):
        await store.record_files(99, [item("a.md", art("/a/"))], T0)
    with pytest.raises(ValueError):
        await store.source("ftp", "x")


async def test_naive_datetime_is_refused(store: Store, content: SourceRow) -> None:
    import pytest

    with pytest.raises(ValueError, match="naive"):
        await store.record_files(content.id, [item("a.md", art("/a/"))], T0.replace(tzinfo=None))


async def test_large_batch(store: Store) -> None:
    src = await store.source("content", "/big")
    items = [item(f"p/{i}.md", art(f"/p/{i}/", tags=(f"t{i % 7}",))) for i in range(2000)]
    results = await store.record_files(src.id, items, T0)
    assert {r.change for r in results} == {Change.NEW}
    assert await store.article_count() == 2000
    assert len(await store.files(src.id)) == 2000
    results = await store.record_files(src.id, items, T0 + MIN)
    assert {r.change for r in results} == {Change.UNCHANGED}
    assert sum(n for _, n in await store.tags()) == 2000


async def test_columns_computed_ahead_are_stored_as_the_store_computes_them(
    store: Store, content: SourceRow
) -> None:
    """Worker processes hand article_columns() over ready: the row must be the same."""
    a = art("/a/", tags=("Energy", "energy", " Climate  Policy "), takeaways=("One", "Two"))
    plain = item("a.md", a)
    ahead = replace(plain, columns=article_columns(a, plain.message or {}))
    assert ahead.columns is not None
    assert ahead.columns.tag_rows == (("energy", "Energy"), ("climate policy", "Climate Policy"))
    other = await store.source("content", "/other")
    await record(store, content, plain)
    await store.record_files(other.id, [ahead], T0)
    stored = [
        tuple(r)
        for r in await store._connection().execute_fetchall(
            f"SELECT {', '.join(ARTICLE_COLUMNS[3:])} FROM articles ORDER BY source_id"
        )
    ]
    assert len(stored) == 2 and stored[0] == stored[1]
    await check_lookup_invariants(store)


async def test_a_re_render_of_the_same_bytes_changes_the_post_quietly(
    store: Store, content: SourceRow
) -> None:
    await record(store, content, item("a.md", art("/a/", url="https://old.example/a/")))
    for done in await store.pending_announcements():
        await store.complete_announcement(done.id, T0)
    bytes_of_a = item("a.md", art("/a/", url="https://old.example/a/")).file_hash
    rendered_anew = item("a.md", art("/a/"), file_hash=bytes_of_a)  # same bytes, new site URL
    [r] = await store.record_files(content.id, [rendered_anew], T0 + MIN, rerender=True)
    assert r.change is Change.CHANGED and r.announced is None
    stored = await store.get(r.article_id)  # type: ignore[arg-type]
    assert stored is not None and stored.url == "https://example.com/a/" and stored.version == 1
    assert await pending_kinds(store) == []
    # A file whose bytes did change is an update as ever, re-render or not.
    [r] = await store.record_files(
        content.id, [item("a.md", art("/a/", takeaways=("new",)))], T0 + 2 * MIN, rerender=True
    )
    assert r.change is Change.CHANGED and r.announced == "updated"


async def test_a_file_fixed_after_a_rejection_says_so(store: Store, content: SourceRow) -> None:
    [r] = await record(store, content, item("a.md", error="front matter: broken"))
    assert r.change is Change.REJECTED and not r.fixed
    [r] = await record(store, content, item("a.md", art("/a/")), now=T0 + MIN)
    assert r.change is Change.NEW and r.fixed and r.announced == "published"
    [r] = await record(store, content, item("a.md", art("/a/", takeaways=("x",))), now=T0 + DAY)
    assert not r.fixed
