"""alerting: watches scores and the pipeline, publishes alerts to Kafka, delivers webhooks."""
