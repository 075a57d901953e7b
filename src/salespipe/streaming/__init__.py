"""The streaming path: event schema, producer, Bronze sink and the production connector.

Events flow producer -> Kafka topic ``sales_events`` -> Bronze sink (ours locally, the
Kafka Connect S3 sink on a cluster; same layout) -> Silver, which reads the landed
objects through ``layout.read_event_files``.
"""
