"""Code the ingest, scoring and api services share: settings, event contract, database, methodology."""
