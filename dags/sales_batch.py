"""Airflow DAG `sales_batch`, built by salespipe.orchestration.dags (see its doc_md)."""

from salespipe.orchestration.dags import sales_batch

dag = sales_batch()
