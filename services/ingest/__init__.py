"""ingest: the door. Validates what one-stop systems send, stores it once, dead-letters the rest."""
