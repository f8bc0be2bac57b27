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
    thread_name,
    webhook_post_marker,
)
from bot.summary import TEST_MARKER


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


def test_a_webhook_post_is_known_by_its_webhook_and_marker() -> None:
    body = {"content": "<@&5>", "embeds": [{"title": "T", "url": "https://x.example/a"}]}
    marker = webhook_post_marker(body)
    assert marker == ("url", "https://x.example/a")
    post = {"webhook_id": "7", "content": "<@&5>", "embeds": [{"url": "https://x.example/a"}]}
    assert is_webhook_post(post, 7, marker)
    assert not is_webhook_post(post, 8, marker)  # another webhook's
    assert not is_webhook_post({**post, "webhook_id": None}, 7, marker)  # a member's
    other = {**post, "embeds": [{"url": "https://x.example/b"}]}
    assert not is_webhook_post(other, 7, marker)
    test = {**post, "content": f"{TEST_MARKER}\n<@&5>"}
    assert not is_webhook_post(test, 7, marker)
    # No link in the post (a format without an embed): its whole content.
    plain = webhook_post_marker({"content": "News: T https://x.example/a"})
    assert plain == ("content", "News: T https://x.example/a")
    assert is_webhook_post({"webhook_id": "7", "content": "News: T https://x.example/a"}, 7, plain)
    assert not is_webhook_post({"webhook_id": "7", "content": "News: U"}, 7, plain)
