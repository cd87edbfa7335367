"""ingest: the door. Validates what the one-stop systems send, stores it once, dead-letters the rest."""
