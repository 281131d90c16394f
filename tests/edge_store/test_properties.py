"""Property: any interleaving of appends and state changes matches a simple model."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from edge_store import DuplicateEntryError, Durability, Outbox, State
from tests.edge_store.factories import new_entry

appends = st.tuples(st.just("append"), st.lists(st.integers(0, 30), min_size=1, max_size=5))
marks = st.tuples(
    st.sampled_from(["sent", "acked", "requeue", "quarantine", "replay"]),
    st.lists(st.integers(0, 30), max_size=5),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(appends, marks), max_size=25))
def test_ids_stay_unique_and_states_follow_the_model(
    operations: list[tuple[str, list[int]]],
) -> None:
    model: dict[str, State] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Outbox(Path(tmp) / "o.db", durability=Durability.RELAXED, min_free_bytes=0)
        rowid_of: dict[str, int] = {}
        for op, numbers in operations:
            ids = [new_entry(n).id for n in numbers]
            known = [i for i in ids if i in model]
            if op == "append":
                try:
                    rowids = store.append([new_entry(n) for n in numbers])
                except DuplicateEntryError:
                    assert known or len(set(ids)) < len(ids)
                    continue
                assert not known
                rowid_of.update(zip(ids, rowids, strict=True))
                model.update(dict.fromkeys(ids, State.PENDING))
            elif op == "sent":
                store.mark_sent(rowid_of[i] for i in known)
                model.update({i: State.SENT for i in known if model[i] is State.PENDING})
            elif op == "acked":
                movable = {i for i in ids if model.get(i) in (State.PENDING, State.SENT)}
                assert store.mark_acked(ids) == len(movable)
                model.update(dict.fromkeys(movable, State.ACKED))
            elif op == "requeue":
                assert store.requeue_sent() == sum(s is State.SENT for s in model.values())
                model = {i: State.PENDING if s is State.SENT else s for i, s in model.items()}
            elif op == "quarantine" and known:
                store.quarantine(rowid_of[known[0]], "test")
                model[known[0]] = State.QUARANTINED
            elif op == "replay":
                delivered = {i for i in set(known) if model[i] in (State.SENT, State.ACKED)}
                assert store.replay(ids=known) == len(delivered)
                model.update(dict.fromkeys(delivered, State.PENDING))
        stored = store.list(limit=1000)
        store.close()
    assert len({e.id for e in stored}) == len(stored)
    assert {e.id: e.state for e in stored} == model
    assert [e.rowid for e in stored] == sorted(rowid_of[e.id] for e in stored)
