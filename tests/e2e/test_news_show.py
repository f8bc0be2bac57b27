"""``/news show`` with a value that looks like a number but is not an article id."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import OpenNewsroom


@pytest.mark.parametrize("value", ["²", "3²", "٣"])
async def test_show_with_other_digits_is_a_headline_search(
    newsroom: OpenNewsroom, value: str
) -> None:
    # "²".isdigit() is true but int("²") raises: this used to end in the apology.
    room = await newsroom()
    interaction, message = await room.answer("show", article=value)
    assert interaction.ephemeral
    assert message["content"].startswith("No published article matches that.")
