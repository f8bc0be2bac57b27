"""Delivery tests use the store tests' fixtures: an in-memory store and a content source."""

from __future__ import annotations

from tests.store.conftest import content, store

__all__ = ["content", "store"]
