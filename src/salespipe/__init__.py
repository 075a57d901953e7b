"""salespipe: a sales data platform from CSV drops and Kafka events to a dbt star schema.

Layers (enforced by import-linter, see pyproject.toml), from the bottom up:

- ``contract``: the canonical 24-field schema and the Silver rules, declared once as data.
- ``storage``: one object-store API over a local directory and S3.
- ``bronze`` / ``silver`` / ``generate``: the landing, the refining and sample data.
- ``pipeline``: the steps in order and the figures they report.
- ``cli``: thin entry points.
"""

__version__ = "0.1.0"
