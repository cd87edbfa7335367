"""devstack: the embedded stack for development and tests (Tansu broker, embedded PostgreSQL)."""
