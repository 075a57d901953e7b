"""Orchestration: what Airflow's DAGs call, and the clients that drive Airflow.

The DAG files under ``dags/`` stay thin; every task body lives here so it is
typed, tested without a scheduler, and shared by every pipeline's run conf.
"""
