"""Contract suite for BlobStore (the S3 role): the same assertions on every adapter."""

from __future__ import annotations


def test_put_get_delete(blob_store) -> None:  # type: ignore[no-untyped-def]
    blob_store.put_object("threads/a/x", b"\x00" * 10)
    blob_store.put_object("threads/ab/y", b"y", expires_in_days=3)
    assert blob_store.get_objects(["threads/a/x", "threads/ab/y", "missing"]) == {
        "threads/a/x": b"\x00" * 10,
        "threads/ab/y": b"y",
    }
    blob_store.delete_objects(["threads/a/x", "missing"])
    assert blob_store.get_objects(["threads/a/x"]) == {}


def test_delete_prefix_is_exact(blob_store) -> None:  # type: ignore[no-untyped-def]
    for key in ["threads/a/1", "threads/a/2", "threads/ab/1", "threads/a%3Ab/1"]:
        blob_store.put_object(key, key.encode())
    blob_store.delete_prefix("threads/a/")
    assert set(blob_store.get_objects(["threads/a/1", "threads/a/2", "threads/ab/1", "threads/a%3Ab/1"])) == {
        "threads/ab/1",
        "threads/a%3Ab/1",
    }
