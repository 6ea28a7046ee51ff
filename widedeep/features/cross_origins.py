"""`CrossOrigins`: which token combination a cross id came from, remembered while fitting.

A crossed column hashes combinations (``installed_apps=netflix AND impression_app=pandora``)
into ids, so an id alone cannot be read back. While the spec is fitted, the cross records
for each id the first combination that produced it, up to ``capacity`` ids (memory: one
label string and one 64-bit key per id kept; ids first seen after the table is full stay
unnamed). An id reached by two different combinations (a hash collision, detected by
their 64-bit keys) is labelled with the first one and marked ``collided``; explanations
then show ``"a=x AND b=y | ..."``.

Everything is vectorized per batch: one ``np.unique`` over the batch's cross ids and keys.
"""
from __future__ import annotations

import numpy as np

__all__ = ["CrossOrigins"]


class CrossOrigins:
    """Bounded map cross id -> label of the first token combination seen (see module)."""

    def __init__(self, capacity):
        self.capacity = int(capacity)
        self.ids = np.zeros(0, dtype=np.int64)        # sorted
        self.keys = np.zeros(0, dtype=np.uint64)
        self.labels = np.zeros(0, dtype=object)
        self.collided = np.zeros(0, dtype=bool)

    def observe(self, ids, keys, labels_of):
        """Record the batch's cross ``ids`` (int64 [t]) with their 64-bit ``keys`` [t];
        ``labels_of(positions)`` returns the labels of the entries at ``positions`` (asked
        only for entries whose id is new)."""
        if ids.shape[0] == 0:
            return
        unique_keys, key_first = np.unique(keys, return_index=True)
        key_ids = ids[key_first]
        batch_ids, first_of_id, keys_per_id = np.unique(key_ids, return_index=True,
                                                        return_counts=True)
        position = key_first[first_of_id]            # an entry of each distinct id
        batch_keys = keys[position]
        stored = np.searchsorted(self.ids, batch_ids)
        known = stored < self.ids.shape[0]
        known[known] = self.ids[stored[known]] == batch_ids[known]
        # collisions: two keys for one id inside the batch, or a key other than the stored
        clash = keys_per_id > 1
        clash[known] |= self.keys[stored[known]] != batch_keys[known]
        self.collided[stored[known & clash]] = True
        room = self.capacity - self.ids.shape[0]
        new = np.flatnonzero(~known)[:max(room, 0)]
        if new.shape[0] == 0:
            return
        ids_all = np.concatenate([self.ids, batch_ids[new]])
        order = np.argsort(ids_all, kind="stable")
        self.ids = ids_all[order]
        self.keys = np.concatenate([self.keys, batch_keys[new]])[order]
        self.labels = np.concatenate([self.labels,
                                      np.asarray(labels_of(position[new]), dtype=object)])[order]
        self.collided = np.concatenate([self.collided, clash[new]])[order]

    def merge(self, state):
        """Add the origins another fit recorded (`to_state`) over a later part of the
        data, as one batch: its ids not known here are added (the smallest first while
        there is room), a known id with another key is marked ``collided``. Equal to one
        fit over all the data while the cross has at most ``capacity`` distinct ids."""
        ids = np.asarray(state.get("ids", []), dtype=np.int64)
        if ids.shape[0] == 0:
            return
        keys = np.asarray([int(k) for k in state.get("keys", [])], dtype=np.uint64)
        labels = np.asarray(state.get("labels", []), dtype=object)
        collided = np.zeros(ids.shape[0], dtype=bool)
        collided[np.asarray(state.get("collided", []), dtype=np.int64)] = True
        stored = np.searchsorted(self.ids, ids)
        known = stored < self.ids.shape[0]
        known[known] = self.ids[stored[known]] == ids[known]
        clash = collided.copy()
        clash[known] |= self.keys[stored[known]] != keys[known]
        self.collided[stored[known & clash]] = True
        new = np.flatnonzero(~known)[:max(self.capacity - self.ids.shape[0], 0)]
        if new.shape[0] == 0:
            return
        order = np.argsort(np.concatenate([self.ids, ids[new]]), kind="stable")
        self.ids = np.concatenate([self.ids, ids[new]])[order]
        self.keys = np.concatenate([self.keys, keys[new]])[order]
        self.labels = np.concatenate([self.labels, labels[new]])[order]
        self.collided = np.concatenate([self.collided, clash[new]])[order]

    def lookup(self, ids):
        """Label of each of ``ids`` (``None`` where unknown); a collided id's label ends
        with ``" | ..."``."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        stored = np.searchsorted(self.ids, ids)
        found = stored < self.ids.shape[0]
        found[found] = self.ids[stored[found]] == ids[found]
        out = np.full(ids.shape[0], None, dtype=object)
        out[found] = self.labels[stored[found]]
        collided = np.zeros(ids.shape[0], dtype=bool)
        collided[found] = self.collided[stored[found]]
        out[collided] = [f"{label} | ..." for label in out[collided].tolist()]
        return out.tolist()

    def __len__(self):
        return int(self.ids.shape[0])

    def to_state(self):
        return {"ids": self.ids.tolist(), "labels": self.labels.tolist(),
                "keys": [str(k) for k in self.keys.tolist()],
                "collided": np.flatnonzero(self.collided).tolist()}

    @classmethod
    def from_state(cls, state, capacity, where):
        origins = cls(capacity)
        ids = np.asarray(state.get("ids", []), dtype=np.int64)
        labels = state.get("labels", [])
        keys = state.get("keys", [])
        if len(labels) != ids.shape[0] or len(keys) != ids.shape[0] \
                or np.any(np.diff(ids) <= 0):
            raise ValueError(f"{where}: cross origins need sorted distinct ids with one "
                             f"label and one key each")
        if not all(isinstance(label, str) for label in labels):
            raise TypeError(f"{where}: cross origin labels must be strings")
        origins.ids = ids
        origins.keys = np.asarray([int(k) for k in keys], dtype=np.uint64)
        origins.labels = np.asarray(labels, dtype=object)
        origins.collided = np.zeros(ids.shape[0], dtype=bool)
        origins.collided[np.asarray(state.get("collided", []), dtype=np.int64)] = True
        return origins
