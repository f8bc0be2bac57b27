"""Benchmarks with their own runner; figures are reported in the README."""
