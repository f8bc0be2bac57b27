"""``NEWSBOT_LOG_FORMAT``: JSON log lines are valid JSON, one object a line, with the
ids a log call names; the setting refuses anything but text and json."""

from __future__ import annotations

import json
import logging
import sys
from io import StringIO

import pytest

from bot.config import SettingsError, load_settings
from bot.logs import JsonFormatter, ids
from bot.redaction import RedactingFilter


def emit(*records: tuple[int, str, tuple[object, ...], dict[str, str]]) -> list[str]:
    out = StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        for level, message, args, extra in records:
            logger.log(level, message, *args, extra=extra)
        try:
            raise ValueError("bad\nthing")
        except ValueError:
            logger.exception("failed on %s", "line\nbreak", extra=ids(source="/srv/content"))
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    return out.getvalue().splitlines()


def test_one_json_object_per_line_with_the_ids() -> None:
    lines = emit(
        (logging.INFO, "article %s: queued %d posts", ("/a/", 3), ids(article="/a/")),
        (
            logging.WARNING,
            "paused delivery to channel %d",
            (1579024283093434369,),
            ids(guild=1579024282128744449, channel=1579024283093434369),
        ),
        (logging.DEBUG, "plain «unicode» ✓", (), {}),
    )
    assert len(lines) == 4  # the exception's newlines stay inside its string
    records = [json.loads(line) for line in lines]
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys()
        assert record["logger"] == "tests.logs"
        assert record["time"].endswith("+00:00")
    assert records[0]["message"] == "article /a/: queued 3 posts"
    assert (records[0]["level"], records[0]["article"]) == ("INFO", "/a/")
    assert "guild" not in records[0] and "channel" not in records[0]
    assert records[1]["guild"] == "1579024282128744449"
    assert records[1]["channel"] == "1579024283093434369"  # a string: exact in any reader
    assert records[2]["message"] == "plain «unicode» ✓"
    assert records[3]["message"] == "failed on line\nbreak"
    assert records[3]["source"] == "/srv/content"
    assert records[3]["exception"].endswith("ValueError: bad\nthing")


def test_ids_leave_out_what_does_not_apply() -> None:
    assert ids() == {}
    assert ids(guild=1, channel=2) == {"guild": "1", "channel": "2"}


def test_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSBOT_LOG_FORMAT", raising=False)
    assert load_settings(_env_file=None).log_format == "text"
    assert load_settings(_env_file=None, log_format=" JSON ").log_format == "json"
    with pytest.raises(SettingsError, match=r"^NEWSBOT_LOG_FORMAT=yaml: must be text .* or json"):
        load_settings(_env_file=None, log_format="yaml")


def test_webhook_tokens_are_cut_out_of_log_lines_and_tracebacks() -> None:
    record = logging.LogRecord(
        "discord.http",
        logging.DEBUG,
        __file__,
        1,
        "%s %s has received %s",
        (
            "POST",
            "https://discord.com/api/v10/webhooks/123/s3cr3t-T0ken?wait=true",
            {"id": "123", "token": "s3cr3t-T0ken"},
        ),
        None,
    )
    try:
        raise RuntimeError("https://discord.com/api/v10/webhooks/123/s3cr3t-T0ken failed")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    assert RedactingFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "s3cr3t" not in line
    assert "/webhooks/123/***" in line and "'token': '***'" in line
