"""One HTTP app: SageMaker's JSON protocol, a CloudWatch Logs subset and the web console
(docs/architecture.md)."""
