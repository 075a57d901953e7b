"""Silver: validated, standardized, deduplicated order lines in Delta Lake.

The rules come from ``salespipe.contract.rules``; ``plan`` renders them to SQL for an
engine's ``Dialect``; ``batch`` runs them on the embedded engine (DuckDB + delta-rs).
"""
