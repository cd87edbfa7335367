from __future__ import annotations

from shared.ops import OpsSettings
from shared.settings import CommonSettings


class IngestSettings(CommonSettings, OpsSettings):
    ingest_consumer_group: str = "chiso766-ingest"
    ingest_max_batch_records: int = 5000
    # How long a poll waits for records: bounds the latency an event adds before it is stored.
    ingest_poll_timeout_ms: int = 50
