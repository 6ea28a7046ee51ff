"""`EmbeddingCombineLayer`: the embeddings of all sparse fields, with shared tables.

Owns one table per vocabulary and one `EmbeddingLayer` per field (``field -> vocabulary``).
Several fields may name the same vocabulary (e.g. "installed_apps" and "impression_app"
both use "app"); they then read and train one table, and a row used by two fields in one
batch receives the **sum** of their gradients.

    out = concat_f [ pool_f(E_{vocab(f)}, x_f) ]      shape [n, sum_f dim(vocab(f))]

Storage: the tables of one embedding width are rows of one contiguous block (an
`EmbeddingGroup`); ``params[vocab]`` is a view of its rows. A batch's gradient rows of all
vocabularies of a group are then aggregated by one sort and updated by one optimizer call,
and when every field is single-valued the whole lookup is one gather.

Optional lazy L2: ``embedding_l2 / 2 * sum_{r in batch rows} ||E[r]||^2`` is added to the
loss of a step, so only rows present in the batch are decayed and updates stay sparse.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..input_checks import all_one_hot, is_one_hot, validate_fields
from ..inputs import SparseInput
from ..segments import sum_duplicates
from ..storage import in_memory
from ..workspace import empty, run_rows
from .base import Layer, RowSparseGrad
from .embedding import EmbeddingLayer

__all__ = ["EmbeddingCombineLayer", "EmbeddingGroup"]


@dataclass
class EmbeddingGroup:
    """Vocabularies of one width stored as consecutive rows of ``table``
    [sum of rows, dim]; vocabulary ``v`` is rows ``offsets[v] : offsets[v] + sizes[v]``."""

    table: np.ndarray
    offsets: dict
    sizes: dict
    trainable: bool = True


class EmbeddingCombineLayer(Layer):
    """Concatenated pooled embeddings of several sparse fields.

    Parameters
    ----------
    tables : dict[str, ndarray [n_rows, dim] | (n_rows, dim)]
        Initial table of each vocabulary, copied into one block per width, or its shape,
        filled in place by ``initializer(name, view)`` (zeros without one) — no second copy
        of a large table. ``params[name]`` is a view of the block (train and read it there).
    field_vocabs : dict[str, str]
        Field name -> vocabulary name, in output order.
    combiners : str or dict[str, str]
        Combiner of every field, or per field (default "sum").
    embedding_l2 : float
        Lazy L2 strength on the rows used in a batch.
    frozen : iterable of vocabulary names
        Tables that are not trained: they sit in blocks of their own, which get no gradient
        (`backward_groups` gives None for them), so no optimizer ever changes them.
    allocate : callable, optional
        Creates each block (`widedeep.storage`: in memory by default, or memory-mapped).
    """

    def __init__(self, tables, field_vocabs, combiners="sum", embedding_l2=0.0,
                 initializer=None, dtype=np.float32, frozen=(), allocate=in_memory):
        super().__init__()
        unknown = sorted(set(field_vocabs.values()) - set(tables))
        if unknown:
            raise ValueError(f"fields use unknown vocabularies {unknown}; known: "
                             f"{sorted(tables)}")
        self.field_vocabs = dict(field_vocabs)
        self.embedding_l2 = float(embedding_l2)
        self.frozen = set(frozen or ())
        unknown = sorted(self.frozen - set(tables))
        if unknown:
            raise ValueError(f"frozen_embeddings: unknown vocabularies {unknown}; known: "
                             f"{sorted(tables)}")
        self.groups, self.group_of = [], {}
        by_width, shapes = {}, {}
        for name, table in tables.items():
            if isinstance(table, tuple):
                shapes[name], table_dtype = tuple(int(k) for k in table), np.dtype(dtype)
            else:
                table = np.asarray(table)
                shapes[name], table_dtype = table.shape, table.dtype
            if len(shapes[name]) != 2:
                raise ValueError(f"vocabulary {name!r}: table must be 2-d, got shape "
                                 f"{shapes[name]}")
            by_width.setdefault((shapes[name][1], table_dtype.str, name not in self.frozen),
                                []).append(name)
        for (dim, block_dtype, trainable), names in by_width.items():
            sizes = {name: shapes[name][0] for name in names}
            offsets = dict(zip(names, np.cumsum([0] + [sizes[v] for v in names[:-1]])))
            block = allocate((sum(sizes.values()), dim), np.dtype(block_dtype))
            for name in names:
                view = block[offsets[name]:offsets[name] + sizes[name]]
                if not isinstance(tables[name], tuple):
                    view[...] = tables[name]
                elif initializer is not None:
                    initializer(name, view)
                self.params[name] = view
                self.group_of[name] = len(self.groups)
            self.groups.append(EmbeddingGroup(block, {v: int(o) for v, o in offsets.items()},
                                              sizes, trainable))
        if isinstance(combiners, str):
            combiners = {f: combiners for f in field_vocabs}
        self.fields = {f: EmbeddingLayer(self.params[v], combiners.get(f, "sum"), field=f)
                       for f, v in field_vocabs.items()}

    def bind_tables(self, tables):
        """Use the arrays ``tables`` (``{vocabulary: [n_rows, dim]}``, e.g. read-only memory
        maps of a saved model) as the tables, by reference, without copying.

        For serving: a block holding one vocabulary becomes that array; a block holding
        several is dropped (``table`` None) and each field reads its own table. A bound
        layer predicts; it cannot be trained.
        """
        for name, table in self.params.items():
            bound = tables[name]
            if bound.shape != table.shape or bound.dtype != table.dtype:
                raise ValueError(f"vocabulary {name!r}: expected {table.dtype}"
                                 f"{list(table.shape)}, got {bound.dtype}{list(bound.shape)}")
        for name in self.params:
            self.params[name] = tables[name]
        for field, layer in self.fields.items():
            layer.params["table"] = tables[self.field_vocabs[field]]
        for group in self.groups:
            group.table = tables[next(iter(group.sizes))] if len(group.sizes) == 1 else None

    @property
    def output_dim(self):
        return sum(layer.output_dim for layer in self.fields.values())

    def check_input(self, features, values=True):
        """Raise naming the field unless every sparse field is present as a `SparseInput`;
        ``values=True`` also checks ids and values (`validate_fields`), ``values=False``
        leaves that to ``forward(checked=False)``."""
        for field, layer in self.fields.items():
            if field not in features:
                raise ValueError(f"missing sparse field {field!r} (expected fields: "
                                 f"{list(self.fields)})")
            if not isinstance(features[field], SparseInput):
                layer.check_input(features[field])   # raises the TypeError naming it
        # every field at once (`validate_fields`; each field's own check on any failure)
        if values:
            self._validate_values([features[f] for f in self.fields])

    def _validate_values(self, inputs):
        validate_fields(inputs, [layer.table.shape[0] for layer in self.fields.values()],
                        list(self.fields))

    def _group_ids(self, field, ids):
        """Ids of ``field`` as rows of its group's block."""
        return ids + self.groups[self.group_of[self.field_vocabs[field]]].offsets[
            self.field_vocabs[field]]

    def block_rows_of(self, features):
        """Per block (aligned with ``groups``), the distinct ascending rows of the block
        that ``features`` read (int64 [k]); None for a block no field reads."""
        rows = [[] for _ in self.groups]
        for field, vocab in self.field_vocabs.items():
            rows[self.group_of[vocab]].append(
                self._group_ids(field, features[field].feature_ids.astype(np.int64)))
        return [np.unique(np.concatenate(r)) if r else None for r in rows]

    # ------------------------------------------------------------------ forward
    def forward(self, features, training=False, rng=None, out=None, workspace=None,
                checked=False, need_cache=True):
        """``(pooled [n, output_dim], cache)``. ``out``: an [n, output_dim] array (e.g. the
        embedding columns of the deep input) to write into and return; ``workspace``: the
        scratch of the single-gather path (`widedeep.workspace.Workspace`);
        ``checked=True``: the caller has just run `check_input` on these features (the
        single-gather path then does not validate them a second time);
        ``need_cache=False`` (inference): the cache is None, and single-valued fields
        among bags are still pooled one gather per block (`forward_fields`)."""
        if not self.fields:
            n = _n_examples(features)
            dtype = self.groups[0].table.dtype if self.groups else np.float32
            return np.zeros((n, 0), dtype=dtype), None
        inputs = [features[f] for f in self.fields]
        if len(self.groups) == 1 and self.groups[0].table is not None and (
                all_one_hot(inputs) if not checked else
                all(x.one_per_example for x in inputs)):
            return self._forward_one_gather(inputs, out, workspace, checked)
        if not need_cache:
            return self._pool_by_block(list(self.fields), inputs, out, workspace, checked), None
        outs, caches = [], {}
        for field, layer in self.fields.items():
            pooled, caches[field] = layer.forward(features[field])
            outs.append(pooled)
        if out is None:
            return np.concatenate(outs, axis=1), ("fields", caches)
        np.concatenate(outs, axis=1, out=out)
        return out, ("fields", caches)

    def forward_fields(self, fields, features, checked=False):
        """The pooled embeddings of ``fields`` (some of the layer's fields, in the order
        given) side by side: [n, sum of their widths], a new array; the columns those fields
        hold in `forward`'s output, computed alone (e.g. a ranking request's query or
        per-candidate fields). The single-valued fields of one block are pooled in one
        gather; a bag, or a field of a block without a table, by its own
        `EmbeddingLayer.forward`. ``checked``: as in `forward`."""
        return self._pool_by_block(fields, [features[f] for f in fields], checked=checked)

    def _pool_by_block(self, fields, inputs, out=None, workspace=None, checked=False):
        """`forward_fields` of ``inputs`` (the features of ``fields``), written into ``out``
        ([n, their widths]; a new array without it). Each field's values are checked
        (ids, rows, values) unless ``checked``."""
        blocks = [self.group_of[self.field_vocabs[f]] for f in fields]
        n = inputs[0].n_examples
        hot = {}   # block -> positions of its single-valued fields
        for j, (x, block) in enumerate(zip(inputs, blocks)):
            if self.groups[block].table is not None and is_one_hot(x, n):
                hot.setdefault(block, []).append(j)
        if len(hot) == 1 and len(next(iter(hot.values()))) == len(fields):   # all of them
            return self._forward_one_gather(inputs, out, workspace, checked=checked,
                                            fields=fields, group=blocks[0])[0]
        widths = [self.fields[f].output_dim for f in fields]
        starts = np.cumsum([0] + widths).tolist()
        if out is None:
            out = np.empty((n, starts[-1]), dtype=self.fields[fields[0]].table.dtype)
        done = set()
        for block, positions in hot.items():
            pooled = self._forward_one_gather([inputs[j] for j in positions],
                                              workspace=workspace, checked=checked,
                                              group=block,
                                              fields=[fields[j] for j in positions])[0]
            if positions == list(range(positions[0], positions[-1] + 1)):   # adjacent
                out[:, starts[positions[0]]:starts[positions[-1] + 1]] = pooled
            else:
                columns = np.concatenate([np.arange(starts[j], starts[j + 1])
                                          for j in positions])
                out[:, columns] = pooled
            done.update(positions)
        for j in sorted(set(range(len(fields))) - done):
            out[:, starts[j]:starts[j + 1]] = self.fields[fields[j]].forward(inputs[j])[0]
        return out

    def _forward_one_gather(self, inputs, out=None, workspace=None, checked=False,
                            fields=None, group=0):
        """Every field single-valued, one block: a single gather [n, F, dim]
        (``np.take``, which copies rows faster than fancy indexing). ``fields``: the names
        of ``inputs`` (default all the layer's fields), all in block ``group``."""
        fields = list(self.fields) if fields is None else fields
        n, block = inputs[0].n_examples, self.groups[group].table
        n_fields = len(inputs)
        # all fields' ids and values in one concatenation each ([F, n], field-major), then
        # rows [n, F] = ids + each field's offset in the block: a few calls, not 2F
        by_field = np.concatenate([x.feature_ids for x in inputs], out=empty(
            workspace, "embedding/ids", n * n_fields, np.int64)).reshape(n_fields, n)
        values = np.concatenate([x.feature_values for x in inputs], out=empty(
            workspace, "embedding/values", n * n_fields, block.dtype))
        if not checked:   # the value checks on these concatenations (no second copy)
            validate_fields(inputs, [self.fields[f].table.shape[0] for f in fields], fields,
                            by_field, values)
        offsets = self.groups[group].offsets
        by_field += np.fromiter((offsets[self.field_vocabs[f]] for f in fields), np.int64,
                                n_fields)[:, None]
        rows = empty(workspace, "embedding/rows", (n, n_fields), np.int64)
        rows[...] = by_field.T
        # values all 1: every combiner's coefficient is 1 (one entry per bag)
        unit = values.shape[0] == 0 or bool(
            np.minimum.reduce(values) == np.maximum.reduce(values) == 1)
        coefs = None
        if not unit:
            coefs = empty(workspace, "embedding/coefs", (n, n_fields), block.dtype)
            for j, (field, x) in enumerate(zip(fields, inputs)):
                coefs[:, j] = self.fields[field]._coefficients(x)
        # ids were validated in range: mode="clip" changes nothing and lets np.take write
        # straight into ``gathered`` (mode="raise" would gather into a buffer first)
        gathered = empty(workspace, "embedding/gathered", (n, n_fields, block.shape[1]),
                         block.dtype)

        def gather(start, stop):   # examples [start, stop): split over the row threads
            block.take(rows[start:stop], axis=0, mode="clip", out=gathered[start:stop])
            if not unit:
                gathered[start:stop] *= coefs[start:stop, :, None]
            if out is not None:
                out[start:stop] = gathered[start:stop].reshape(stop - start, -1)
        run_rows(workspace, gather, n, n_fields * block.shape[1], passes=2)
        pooled = gathered.reshape(n, -1) if out is None else out
        return pooled, ("gather", rows, None if unit else coefs)

    # ------------------------------------------------------------------ backward
    def backward_groups(self, grad_out, cache, penalty=True, workspace=None):
        """Gradient per block: ``[RowSparseGrad or None]`` aligned with ``self.groups``,
        rows numbered within the block (all vocabularies of a block in one sort); None for
        a block without rows in the batch and for a frozen block.
        ``penalty=False`` leaves out the lazy L2 (see `penalty_gradient_of_rows`).
        With a workspace the entries and the summed rows are its buffers."""
        entries = [([], []) for _ in self.groups]
        runs = None   # the single gather's ids are [n, F]: each field a piece of its own
        if not grad_out.flags.c_contiguous:   # e.g. the embedding columns of dL/da_0
            contiguous = empty(workspace, "embedding/grad_out", grad_out.shape, grad_out.dtype)
            source = grad_out

            def copy(start, stop):
                contiguous[start:stop] = source[start:stop]
            run_rows(workspace, copy, grad_out.shape[0], grad_out[:1].size)
            grad_out = contiguous
        if cache[0] == "gather":
            _, rows, coefs = cache
            n, n_fields = rows.shape
            grads = grad_out.reshape(n, n_fields, -1)
            if coefs is not None:
                grads = grads * coefs[:, :, None]
            entries[0][0].append(rows.reshape(-1))
            entries[0][1].append(grads.reshape(n * n_fields, -1))
            runs = n_fields
        else:
            start = 0
            for field, layer in self.fields.items():
                stop = start + layer.output_dim
                ids, values = layer.entry_gradients(grad_out[:, start:stop], cache[1][field])
                group = self.group_of[self.field_vocabs[field]]
                entries[group][0].append(self._group_ids(field, ids))
                entries[group][1].append(values)
                start = stop
        out = []
        for index, (group, (ids, values)) in enumerate(zip(self.groups, entries)):
            if not ids or not group.trainable:
                out.append(None)
                continue
            rows, summed = sum_duplicates(ids[0] if len(ids) == 1 else np.concatenate(ids),
                                          values[0] if len(values) == 1
                                          else np.concatenate(values),
                                          n_ids=group.table.shape[0],
                                          workspace=workspace, key=f"embedding/block{index}",
                                          runs=runs)
            if self.embedding_l2 and penalty:
                summed = summed + self.embedding_l2 * group.table[rows]
            out.append(RowSparseGrad(rows, summed))
        return out

    def backward(self, grad_out, cache):
        """``(None, {vocabulary: RowSparseGrad})`` with rows numbered within each table."""
        grads = {}
        for group, grad in zip(self.groups, self.backward_groups(grad_out, cache)):
            if grad is None:
                continue
            for vocab, offset in group.offsets.items():
                lo, hi = np.searchsorted(grad.rows, [offset, offset + group.sizes[vocab]])
                if hi > lo:
                    grads[vocab] = RowSparseGrad(grad.rows[lo:hi] - offset, grad.values[lo:hi])
        return None, grads

    def penalty_gradient_of_rows(self, group_index, rows, workspace=None):
        """Gradient of the lazy L2 on ``rows`` of block ``group_index``: ``l2 * E[rows]``
        (None without L2); a buffer of ``workspace`` when given."""
        if not self.embedding_l2:
            return None
        table = self.groups[group_index].table
        if workspace is None:
            return self.embedding_l2 * table[rows]
        gathered = np.take(table, rows, axis=0, mode="clip", out=workspace.array(
            f"embedding/block{group_index}/penalty", rows.shape + table.shape[1:],
            table.dtype))
        return np.multiply(gathered, self.embedding_l2, out=gathered)

    def penalty_of_batch(self, features):
        """The lazy L2 term of a batch: ``l2/2 * sum of ||E[r]||^2`` over its unique rows."""
        if not self.embedding_l2:
            return 0.0
        total = 0.0
        for vocab in set(self.field_vocabs.values()) - self.frozen:
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
