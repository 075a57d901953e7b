"""Airflow DAG `sales_analytics`, built by salespipe.orchestration.dags (see its doc_md)."""

from salespipe.orchestration.dags import sales_analytics

dag = sales_analytics()
