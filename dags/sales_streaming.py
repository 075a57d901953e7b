"""Airflow DAG `sales_streaming`, built by salespipe.orchestration.dags (see its doc_md)."""

from salespipe.orchestration.dags import sales_streaming

dag = sales_streaming()
