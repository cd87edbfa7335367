"""What the ingest, scoring and api services share: settings, events, database, methodology."""
