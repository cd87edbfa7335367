"""simulator: a province like Thái Nguyên sending dossier events to any Kafka-protocol broker."""
