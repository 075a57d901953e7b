"""Airflow DAG `kafka_connector_monitor`, built by salespipe.orchestration.dags (see its doc_md)."""

from salespipe.orchestration.dags import kafka_connector_monitor

dag = kafka_connector_monitor()
