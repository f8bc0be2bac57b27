"""The tests' own frozen copy of the bundled sample articles.

``examples/content`` is the user's to play with (the Quickstart invites them to drop
articles there), so no test reads it: tests read ``tests/data/samples``, which
``tests/test_samples.py`` keeps equal to the samples as committed.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "data" / "samples"
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
