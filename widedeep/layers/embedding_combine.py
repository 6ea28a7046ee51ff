"""`EmbeddingCombineLayer`: the embeddings of all sparse fields, with shared tables.

Owns one table per vocabulary and one `EmbeddingLayer` per field (``field -> vocabulary``).
Several fields may name the same vocabulary (e.g. "installed_apps" and "impression_app"
both use "app"); they then read and train one table, and a row used by two fields in one
batch receives the **sum** of their gradients.

    out = concat_f [ pool_f(E_{vocab(f)}, x_f) ]      shape [n, sum_f dim(vocab(f))]

Optional lazy L2: ``embedding_l2 / 2 * sum_{r in batch rows} ||E[r]||^2`` is added to the
loss of a step, so only rows present in the batch are decayed and updates stay sparse.
"""
from __future__ import annotations

import numpy as np

from .base import Layer, RowSparseGrad, sum_rows_by_id
from .embedding import EmbeddingLayer

__all__ = ["EmbeddingCombineLayer"]


class EmbeddingCombineLayer(Layer):
    """Concatenated pooled embeddings of several sparse fields.

    Parameters
    ----------
    tables : dict[str, ndarray [n_rows, dim]]
        One table per vocabulary name; ``params`` holds them under the same names.
    field_vocabs : dict[str, str]
        Field name -> vocabulary name, in output order.
    combiners : str or dict[str, str]
        Combiner of every field, or per field (default "sum").
    embedding_l2 : float
        Lazy L2 strength on the rows used in a batch.
    """

    def __init__(self, tables, field_vocabs, combiners="sum", embedding_l2=0.0):
        super().__init__()
        unknown = sorted(set(field_vocabs.values()) - set(tables))
        if unknown:
            raise ValueError(f"fields use unknown vocabularies {unknown}; known: "
                             f"{sorted(tables)}")
        self.params = dict(tables)
        self.field_vocabs = dict(field_vocabs)
        if isinstance(combiners, str):
            combiners = {f: combiners for f in field_vocabs}
        self.embedding_l2 = float(embedding_l2)
        self.fields = {
            f: EmbeddingLayer(self.params[v], combiners.get(f, "sum"), field=f)
            for f, v in field_vocabs.items()
        }

    @property
    def output_dim(self):
        return sum(layer.output_dim for layer in self.fields.values())

    def check_input(self, features):
        for field, layer in self.fields.items():
            if field not in features:
                raise ValueError(f"missing sparse field {field!r} (expected fields: "
                                 f"{list(self.fields)})")
            layer.check_input(features[field])

    def forward(self, features, training=False, rng=None):
        outs, caches = [], {}
        for field, layer in self.fields.items():
            out, caches[field] = layer.forward(features[field])
            outs.append(out)
        if not outs:
            n = _n_examples(features)
            return np.zeros((n, 0), dtype=next(iter(self.params.values())).dtype
                            if self.params else np.float32), caches
        return np.concatenate(outs, axis=1), caches

    def backward(self, grad_out, cache):
        per_vocab = {}
        start = 0
        for field, layer in self.fields.items():
            stop = start + layer.output_dim
            ids, rows = layer.entry_gradients(grad_out[:, start:stop], cache[field])
            per_vocab.setdefault(self.field_vocabs[field], []).append((ids, rows))
            start = stop
        grads = {}
        for vocab, parts in per_vocab.items():
            if len(parts) == 1:
                g = sum_rows_by_id(*parts[0])
            else:
                g = sum_rows_by_id(np.concatenate([p[0] for p in parts]),
                                   np.concatenate([p[1] for p in parts]))
            if self.embedding_l2:
                g = RowSparseGrad(g.rows, g.values + self.embedding_l2 * self.params[vocab][g.rows])
            grads[vocab] = g
        return None, grads

    def penalty_of_batch(self, features):
        """The lazy L2 term of a batch: ``l2/2 * sum of ||E[r]||^2`` over its unique rows."""
        if not self.embedding_l2:
            return 0.0
        total = 0.0
        for vocab in set(self.field_vocabs.values()):
            ids = np.unique(np.concatenate([features[f].feature_ids
                                            for f, v in self.field_vocabs.items() if v == vocab]))
            rows = self.params[vocab][ids]
            total += 0.5 * self.embedding_l2 * float(np.sum(rows * rows))
        return total

    def __repr__(self):
        return f"EmbeddingCombineLayer(fields={self.field_vocabs})"


def _n_examples(features):
    for value in features.values():
        return value.n_examples if hasattr(value, "n_examples") else len(value)
    return 0
