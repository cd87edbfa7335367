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
    # The longest the broker may hold a fetch that has no records yet (Kafka's
    # fetch.max.wait.ms, 500 by default). A broker should answer as soon as a record arrives,
    # but one that holds an empty fetch for all of it (Tansu does) adds that much to an event's
    # latency: about 110 ms in the median at Kafka's default, 10 ms at 20.
    ingest_fetch_max_wait_ms: int = Field(default=20, ge=0)
