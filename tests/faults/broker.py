"""A Tansu broker that survives its own restart: its log lives in S3 (a local moto server),
not in memory, so killing and starting it again is a restart, not a new empty broker."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3

from services.devstack.stack import free_port, tansu_command, wait_for_port

BUCKET = "tansu"
REGION = "eu-west-2"


@contextlib.contextmanager
def s3_server(log: Path) -> Iterator[dict[str, str]]:
    """A moto S3 server with the broker's bucket; the environment Tansu reads to use it."""
    port = free_port()
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process)
        env = {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT": f"http://127.0.0.1:{port}",
            "AWS_ALLOW_HTTP": "true",
        }
        boto3.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT"],
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name=REGION,
        ).create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield env
    finally:
        process.terminate()
        process.wait(10)


class RestartableBroker:
    """Tansu on a fixed port with S3 storage: `kill()` it like a crash, `start()` it again."""

    def __init__(self, s3_env: dict[str, str], log: Path) -> None:
        self.env = {**os.environ, **s3_env}
        self.log = log
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as output:
            self.process = subprocess.Popen(
                tansu_command(self.port, self.port, f"s3://{BUCKET}/"),
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(self.port, self.process)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.process = None
        self.restarts += 1

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None
