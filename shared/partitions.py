"""Scoring's partitions: which share of the dossiers and feedback each scoring instance owns.

A subject (a dossier code, a feedback id) belongs to one partition, from its md5 so that Python
and PostgreSQL (`chiso766_partition`, migrations 0009 and 0015) agree. Instances claim partitions
with PostgreSQL advisory locks (`services.scoring.claims`); catalogue events belong to every
partition.
"""

from __future__ import annotations

import hashlib

# Session-level advisory locks `PARTITION_LOCK_BASE + p` claim partition p.
PARTITION_LOCK_BASE = 766_100


def partition_of(subject: str, partitions: int) -> int:
    digest = hashlib.md5(subject.encode(), usedforsecurity=False).digest()
    return (digest[0] * 256 + digest[1]) % partitions
