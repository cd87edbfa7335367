from __future__ import annotations

from pathlib import Path

from shared.methodology.model import DEFAULT_VERSION
from shared.settings import CommonSettings


class ApiSettings(CommonSettings):
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    methodology_version: str = DEFAULT_VERSION
    # A folder of a province's own methodology versions (`<version>.json`), beside the shipped ones.
    methodology_dir: Path | None = None
    # Scores of this many (period, version) pairs are kept in memory between polls.
    api_score_cache_size: int = 64
    # How long a catalogue write waits for the broker before answering 503.
    api_publish_timeout_seconds: float = 15
