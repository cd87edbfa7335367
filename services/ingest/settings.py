"""ingest's settings: `INGEST_` variables, beside the common ones and `OPS_`."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import CommonSettings, OpsSettings


class IngestSettings(CommonSettings, OpsSettings):
    PREFIX: ClassVar[str] = "INGEST_"

    ingest_consumer_group: str = "chiso766-ingest"
    ingest_max_batch_records: int = Field(default=5000, ge=1)
    # How long a poll waits for records: bounds the latency an event adds before it is stored.
    # In milliseconds, as Kafka clients count it.
    ingest_poll_timeout_ms: int = Field(default=50, ge=0)
