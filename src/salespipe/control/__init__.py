"""The control plane: the SalesPipeline custom resource and its kopf operator.

Typed models are the one source of the CRD schema, its defaults and its docs;
the reconciler renders children (Kafka topic and connector) and drives Airflow.
"""
