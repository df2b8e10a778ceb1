"""The embedded broker (integration_hub.broker): what a new user's `make demo` runs on."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from kombu import Connection

from integration_hub.broker import Transport


def _connection(folder: Path) -> Connection:
    return Connection("filesystem://", transport=Transport, transport_options={
        "data_folder_in": str(folder), "data_folder_out": str(folder), "store_processed": False})


def test_a_message_appears_in_the_queue_only_whole(tmp_path: Path) -> None:
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue("celery")
        queue.put({"task": "wake", "id": 1})
        files = [p.name for p in tmp_path.iterdir()]
        assert len(files) == 1 and files[0].endswith(".celery.msg")  # no partial file left behind
        message = queue.get(timeout=2)
        assert message.payload == {"task": "wake", "id": 1}
        message.ack()
        queue.close()


def test_a_broken_message_file_is_skipped_and_the_next_message_still_arrives(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A process stopped mid-write (Ctrl-C on the demo) leaves an empty file; kombu's own transport
    raises on it and the worker, then the demo, stops."""
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue("celery")
        (tmp_path / "0_00000000-0000-0000-0000-000000000000.celery.msg").write_bytes(b"")  # sorts first
        queue.put({"task": "wake", "id": 2})
        with caplog.at_level(logging.WARNING, logger="integration_hub.broker"):
            message = queue.get(timeout=2)
        assert message.payload == {"task": "wake", "id": 2}
        message.ack()
        assert "skipped a broken message file" in caplog.text
        queue.close()
