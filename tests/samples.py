"""The tests' own frozen copy of the bundled examples (sample articles, sample feed).

``examples/`` is the user's to play with (the Quickstart invites them to drop articles
into ``examples/content``), so no test reads it: tests read ``tests/data/examples``,
which ``tests/test_samples.py`` keeps equal to ``examples/`` as committed.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "tests" / "data" / "examples"
SAMPLES = EXAMPLES / "content"
#: The article ids of the frozen samples.
SAMPLE_KEYS = frozenset(
    f"/articles/{slug}/"
    for slug in (
        "central-bank-holds-rates",
        "city-council-approves-bike-lanes",
        "election-results-preview",
        "heatwave-power-grid",
        "library-opening-hours",
        "space-probe-reaches-jupiter",
    )
)
