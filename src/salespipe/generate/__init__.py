"""Realistic, deterministic Superstore-like sample data with injected defects."""

from salespipe.generate.writer import GenerationReport, generate

__all__ = ["GenerationReport", "generate"]
