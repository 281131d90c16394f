"""Durable SQLite outbox of the WardLink gateway: envelopes stay here until delivered.

The store knows nothing of envelopes beyond opaque bytes and routing columns, so it can be
tested and reasoned about on its own.
"""

from edge_store.async_outbox import AsyncOutbox, CommitObserver
from edge_store.durability import Durability
from edge_store.errors import (
    DiskRefusedError,
    DuplicateEntryError,
    ForeignDatabaseError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    StoreInUseError,
)
from edge_store.outbox import Outbox
from edge_store.records import MessageKey, NewEntry, OutboxStats, State, StoredEntry

__all__ = [
    "AsyncOutbox",
    "CommitObserver",
    "DiskRefusedError",
    "DuplicateEntryError",
    "Durability",
    "ForeignDatabaseError",
    "MessageKey",
    "NewEntry",
    "Outbox",
    "OutboxStats",
    "State",
    "StoreCorruptError",
    "StoreError",
    "StoreFullError",
    "StoreInUseError",
    "StoredEntry",
]
