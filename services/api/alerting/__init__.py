"""The api's alerting process: watches scores, publishes alerts to Kafka, delivers webhooks."""
