"""The embedded filesystem broker: a consumer polling while a message file is being written
(created, not yet filled) neither crashes nor loses the message."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from queue import Empty
from typing import Any

import pytest
from kombu import Connection

from engine.settings import Settings
from engine.worker import broker_files
from engine.worker.app import broker_options


@pytest.fixture
def options(tmp_path: Path) -> dict[str, Any]:
    return broker_options(Settings(data_dir=tmp_path))


def _connection(options: dict[str, Any], *, transport: str | None) -> Connection:
    return Connection(
        options["broker_url"],
        transport=transport,
        transport_options=options["broker_transport_options"],
    )


@pytest.fixture
def channel(options: dict[str, Any]) -> Iterator[Any]:
    with _connection(options, transport=options["broker_transport"]) as connection:
        yield connection.default_channel


def _in_folder(options: dict[str, Any]) -> Path:
    return Path(options["broker_transport_options"]["data_folder_in"])


def test_the_embedded_broker_uses_the_atomic_transport(options: dict[str, Any]) -> None:
    assert options["broker_url"] == "filesystem://"
    with _connection(options, transport=options["broker_transport"]) as connection:
        assert isinstance(connection.transport, broker_files.Transport)


def test_stock_kombu_consumer_dies_on_a_file_still_being_written(
    options: dict[str, Any],
) -> None:
    """The bug (celery/kombu#1551): if this stops raising, kombu fixed it upstream."""
    (_in_folder(options) / "1_a.engine.msg").write_bytes(b"")  # created, not yet written
    with (
        _connection(options, transport=None) as connection,
        pytest.raises(ValueError, match="Expecting value"),
    ):
        connection.default_channel._get("engine")


def test_a_file_being_written_is_left_for_the_next_poll(
    options: dict[str, Any], channel: Any
) -> None:
    message = _in_folder(options) / "1_a.engine.msg"
    message.write_bytes(b"")  # the writer created it; the consumer polls now
    with pytest.raises(Empty):
        channel._get("engine")
    message.write_bytes(b'{"body": "')  # half written
    with pytest.raises(Empty):
        channel._get("engine")
    assert message.exists(), "nothing taken: the message stays in the queue"

    message.write_bytes(json.dumps({"body": "x"}).encode())  # the writer is done
    assert channel._get("engine") == {"body": "x"}
    assert not message.exists()
    with pytest.raises(Empty):
        channel._get("engine")


def test_messages_are_renamed_into_place_whole(options: dict[str, Any], channel: Any) -> None:
    channel._put("engine", {"body": "un"})
    channel._put("engine", {"body": "deux"})
    names = sorted(os.listdir(_in_folder(options)))
    assert len(names) == 2 and all(name.endswith(".engine.msg") for name in names)
    assert channel._size("engine") == 2
    # Each message read once; two put in the same millisecond have no order (kombu names files
    # by the millisecond, then a random id), so the test does not assume one.
    read = [channel._get("engine"), channel._get("engine")]
    assert sorted(m["body"] for m in read) == ["deux", "un"]
    assert os.listdir(_in_folder(options)) == []


def test_messages_are_read_in_the_order_they_were_written(
    options: dict[str, Any], channel: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Millisecond prefixes of different lengths: 999 ms was read after 1000 ms when unpadded."""
    clock = iter([0.999, 1.000])
    monkeypatch.setattr(broker_files, "_clock", lambda: next(clock))
    channel._put("engine", {"body": "premier"})
    channel._put("engine", {"body": "second"})
    assert [channel._get("engine")["body"], channel._get("engine")["body"]] == [
        "premier",
        "second",
    ]


def test_a_partial_file_is_no_message_of_the_queue(options: dict[str, Any], channel: Any) -> None:
    partial = _in_folder(options) / f"1_a.engine.msg{broker_files.PARTIAL_SUFFIX}"
    partial.write_bytes(b"{")
    assert channel._size("engine") == 0
    with pytest.raises(Empty):
        channel._get("engine")


def test_an_old_unreadable_file_is_set_aside(options: dict[str, Any], channel: Any) -> None:
    message = _in_folder(options) / f"{0:016d}_a.engine.msg"  # written before any other
    message.write_bytes(b"not json")
    old = message.stat().st_mtime - broker_files.UNREADABLE_AFTER_S - 1
    os.utime(message, (old, old))
    channel._put("engine", {"body": "suivant"})
    assert channel._get("engine") == {"body": "suivant"}, "the queue goes on past it"
    assert not message.exists()
    processed = Path(options["broker_transport_options"]["processed_folder"])
    assert (processed / f"{message.name}.illisible").read_bytes() == b"not json"


def test_a_simple_queue_round_trip(options: dict[str, Any]) -> None:
    with _connection(options, transport=options["broker_transport"]) as connection:
        queue = connection.SimpleQueue("engine")
        (_in_folder(options) / "0_early.engine.msg").write_bytes(b"")  # a writer mid-way
        queue.put({"n": 1})
        received = queue.get(timeout=2)
        assert received.payload == {"n": 1}
        received.ack()
        queue.close()
