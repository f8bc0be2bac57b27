"""A malformed frame from the gateway stops nothing: the bot logs it, skips that event
(or, for a frame that is no event at all, resumes its session, so Discord replays what
it sent meanwhile) and answers commands and delivers articles as before."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import PUBLISHED_NEWEST_FIRST, OpenNewsroom, listed_titles, write_article

NOT_JSON = "{this is not json"
# An INTERACTION_CREATE as Discord sends one, but without its id.
INTERACTION_WITHOUT_ID = json.dumps(
    {
        "op": 0,
        "t": "INTERACTION_CREATE",
        "s": None,
        "d": {"application_id": "1", "type": 2, "token": "t", "version": 1, "data": {}},
    }
)


@pytest.mark.parametrize(
    ("frame", "logged"),
    [
        (NOT_JSON, "could not read a frame from Discord's gateway; resuming"),
        (INTERACTION_WITHOUT_ID, "skipped an unreadable INTERACTION_CREATE event"),
    ],
    ids=["not-json", "interaction-without-id"],
)
async def test_a_malformed_gateway_frame_stops_nothing(
    newsroom: OpenNewsroom,
    content_dir: Path,
    caplog: pytest.LogCaptureFixture,
    frame: str,
    logged: str,
) -> None:
    room = await newsroom()
    fake = room.fake
    await room.bot.store.subscribe(
        room.guild.id,
        room.channel.id,
        tags=(),
        exclude_tags=(),
        mention_role_id=None,
        by_user_id=1,
        now=datetime.now(UTC),
    )
    connects = fake.stats.gateway_connects
    caplog.clear()

    def errors() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.levelno >= logging.ERROR]

    resumes, identifies = fake.stats.resumes, fake.stats.identifies
    fake.send_raw_frame(frame)
    # Sent right behind the bad frame, before the bot has read either.
    right_after = await room.invoke("latest")
    await fake.wait_for(errors)
    [error] = errors()
    assert logged in error.getMessage() and error.exc_info is not None
    if frame == NOT_JSON:
        # No event to skip: the same session, resumed once; nothing sent meanwhile lost.
        await fake.wait_for(lambda: fake.stats.resumes > resumes and fake.gateway.ready)
        assert fake.stats.identifies == identifies
    assert room.runner.task is not None and not room.runner.task.done()
    first = await right_after.original_message()
    assert listed_titles(first["embeds"][0])[0] == PUBLISHED_NEWEST_FIRST[0]

    # A slash command still answers...
    _, message = await room.answer("latest")
    assert listed_titles(message["embeds"][0])[0] == PUBLISHED_NEWEST_FIRST[0]
    # ...and an article published afterwards is still delivered.
    write_article(
        content_dir, "after-the-frame", "After The Bad Frame", date="2026-11-30T09:00:00Z"
    )
    await fake.wait_for(
        lambda: any("After The Bad Frame" in json.dumps(m) for m in fake.messages(room.channel)),
        timeout=15,
    )
    assert len(errors()) == 1, [r.getMessage() for r in errors()]
    if frame != NOT_JSON:
        assert fake.stats.gateway_connects == connects  # the connection was kept
