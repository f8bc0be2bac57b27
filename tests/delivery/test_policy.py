"""The pure rules: nonces, the retry schedule, error verdicts, forum posts."""

from __future__ import annotations

import pytest

from bot.delivery.policy import (
    MAX_NONCE,
    ForumTag,
    Verdict,
    backoff_delay,
    classify,
    delivery_nonce,
    forum_tags,
    is_webhook_post,
    notice_text,
    pause_reason,
    post_fingerprint,
    thread_name,
)
from bot.formats import parse_format, render_formatted
from tests.test_summary import example_article


def test_nonce_is_derived_from_subscription_and_article() -> None:
    assert delivery_nonce(1, 23) == delivery_nonce(1, 23)
    assert delivery_nonce(1, 23) == "1-17"
    assert delivery_nonce(1, 23) != delivery_nonce(23, 1)
    assert delivery_nonce(0x12, 3) != delivery_nonce(1, 0x23)


@pytest.mark.parametrize(
    ("subscription_id", "article_id"),
    [(0, 0), (1, 1), (2**31, 2**31), (2**40, 2**40), (2**63 - 1, 2**63 - 1), (5, 2**63 - 1)],
)
def test_nonce_fits_discord_limit(subscription_id: int, article_id: int) -> None:
    nonce = delivery_nonce(subscription_id, article_id)
    assert 1 <= len(nonce) <= MAX_NONCE
    assert nonce == delivery_nonce(subscription_id, article_id)


def test_long_nonces_are_hashed_and_distinct() -> None:
    big = 2**63 - 1
    nonces = {delivery_nonce(big - i, big - j) for i in range(20) for j in range(20)}
    assert len(nonces) == 400
    assert all(len(n) == MAX_NONCE and "-" not in n for n in nonces)


def test_negative_ids_are_refused() -> None:
    with pytest.raises(ValueError):
        delivery_nonce(-1, 1)


def test_backoff_doubles_up_to_the_cap() -> None:
    schedule = [backoff_delay(n, base=2.0, cap=300.0) for n in range(1, 11)]
    assert schedule == [2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0, 300.0]
    assert backoff_delay(10_000, base=2.0, cap=300.0) == 300.0


def test_backoff_jitter_stays_within_bounds() -> None:
    low = backoff_delay(3, rand=0.0, base=2.0, cap=300.0, jitter=0.2)
    high = backoff_delay(3, rand=0.999999, base=2.0, cap=300.0, jitter=0.2)
    assert low == pytest.approx(8.0 * 0.8)
    assert high == pytest.approx(8.0 * 1.2, rel=1e-5)
    with pytest.raises(ValueError):
        backoff_delay(0)


@pytest.mark.parametrize(
    ("status", "code", "editing", "verdict"),
    [
        (403, 50013, False, Verdict.PAUSE),  # Missing Permissions
        (403, 50001, False, Verdict.PAUSE),  # Missing Access
        (404, 10003, False, Verdict.PAUSE),  # Unknown Channel
        (404, 10008, True, Verdict.GONE),  # a moderator deleted the post
        (404, 10008, False, Verdict.PAUSE),
        (403, 50005, True, Verdict.DROP),  # not our message
        (400, 40033, True, Verdict.DONE),  # already crossposted
        (400, 50035, False, Verdict.DROP),  # Invalid Form Body: never retried as is
        (400, 40067, False, Verdict.DROP),  # forum requires a tag
        (429, 0, False, Verdict.RETRY),
        (500, 0, False, Verdict.RETRY),
        (502, 0, False, Verdict.RETRY),
        (503, 0, False, Verdict.RETRY),
        (401, 0, False, Verdict.RETRY),
    ],
)
def test_classify(status: int, code: int, editing: bool, verdict: Verdict) -> None:
    assert classify(status, code, editing=editing) is verdict


def test_pause_reasons_name_the_problem() -> None:
    assert "Missing Permissions" in pause_reason(403, 50013)
    assert "Missing Access" in pause_reason(403, 50001)
    assert "Unknown Channel" in pause_reason(404, 10003)
    assert "Something odd" in pause_reason(403, 12345, "Something   odd")


def test_notice_says_where_why_and_what_to_do() -> None:
    text = notice_text(42, "I can't see the channel (Missing Access)")
    assert "<#42>" in text
    assert "Missing Access" in text
    assert "/newsadmin resume" in text
    assert "@everyone" not in text and "<@" not in text


def test_thread_name_is_one_line_within_100_characters() -> None:
    assert thread_name("Short  title\n") == "Short title"
    long = thread_name("word " * 60)
    assert len(long) <= 100 and long.endswith("…")
    assert thread_name("   ") == "News"


TAGS = [
    ForumTag(1, "Energy"),
    ForumTag(2, "climate"),
    ForumTag(3, "Grid", moderated=True),
    ForumTag(4, "Politics"),
    ForumTag(5, "a"),
    ForumTag(6, "b"),
    ForumTag(7, "c"),
    ForumTag(8, "d"),
]


def test_forum_tags_match_case_insensitively_in_article_order() -> None:
    assert forum_tags(TAGS, ["CLIMATE", "energy", "Sports"], can_moderate=False) == [2, 1]


def test_forum_tags_skip_moderated_ones_without_manage_threads() -> None:
    assert forum_tags(TAGS, ["grid", "energy"], can_moderate=False) == [1]
    assert forum_tags(TAGS, ["grid", "energy"], can_moderate=True) == [3, 1]


def test_forum_tags_at_most_five() -> None:
    chosen = forum_tags(TAGS, ["a", "b", "c", "d", "energy", "climate", "a"], can_moderate=True)
    assert chosen == [5, 6, 7, 8, 1]


def test_a_deleted_webhook_is_gone_for_edits_and_a_pause_for_posts() -> None:
    assert classify(404, 10015, editing=True) is Verdict.GONE
    assert classify(404, 10015) is Verdict.PAUSE
    assert classify(400, 30007) is Verdict.PAUSE
    assert "15 webhooks" in pause_reason(400, 30007)


def test_a_webhook_post_is_known_by_its_webhook_and_fingerprint() -> None:
    body = {
        "content": "<@&5> New:",
        "embeds": [{"title": "T", "url": "https://x.example/a", "description": "- one"}],
        "allowed_mentions": {"parse": [], "roles": ["5"]},
    }
    fingerprint = post_fingerprint(body)
    # As Discord keeps it: its own fields added, whitespace trimmed, links rewritten.
    post = {
        "id": "99",
        "webhook_id": "7",
        "content": "<@&5> New: ",
        "embeds": [
            {"type": "rich", "title": "T", "url": "https://x.example/a/", "description": "- one"}
        ],
    }
    assert is_webhook_post(post, 7, fingerprint)
    assert not is_webhook_post(post, 8, fingerprint)  # another webhook's
    assert not is_webhook_post({**post, "webhook_id": None}, 7, fingerprint)  # a member's
    other = {**post, "embeds": [{"title": "U", "description": "- one"}]}
    assert not is_webhook_post(other, 7, fingerprint)
    # The words count in their place: a title moved into the content is another post.
    moved = {**post, "content": "<@&5> New: T", "embeds": [{"description": "- one"}]}
    assert not is_webhook_post(moved, 7, fingerprint)


def test_every_format_s_post_has_a_fingerprint_its_test_post_does_not_share() -> None:
    article = example_article()
    formats = [
        parse_format("{{mention}}", "{{title}}", "{{takeaways}}", "{{tags}}", ""),
        # No embed, no link: only words.
        parse_format("{{title}}", "", "", "", "embed: off"),
        parse_format("Read: {{summary}}", "", "{{takeaways:1}}", "", "footer: off"),
    ]
    for fmt in formats:
        body = render_formatted(article, fmt, mention_role_ids=(5,))
        test = render_formatted(article, fmt, mention_role_ids=(5,), test=True)
        kept = {**body, "webhook_id": "7"}
        assert is_webhook_post(kept, 7, post_fingerprint(body))
        assert not is_webhook_post({**test, "webhook_id": "7"}, 7, post_fingerprint(body))
    # An article edited after the post: what was sent no longer matches its new render.
    plain = formats[1]
    sent = post_fingerprint(render_formatted(article, plain))
    edited = render_formatted(example_article(title="France Raids X Offices, Again"), plain)
    assert post_fingerprint(edited) != sent
