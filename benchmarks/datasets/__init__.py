"""Dataset readers and the store they all write (see store.py for the on-disk layout)."""

from benchmarks.datasets.store import Store, StoreError, open_store, write_store

__all__ = ["Store", "StoreError", "open_store", "write_store"]
