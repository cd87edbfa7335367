"""The api's routes, one module per role: scores, the lists behind them, alerts, webhook
subscriptions, admin, operations."""
