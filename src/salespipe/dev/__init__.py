"""Local stand-ins for cluster services (S3, Kafka, Kubernetes API), for the local stack
and the tests: real servers bound to 127.0.0.1, started and stopped by these launchers."""
