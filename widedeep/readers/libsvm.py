"""`LibsvmReader` and `LibffmReader`: sparse text formats straight to model inputs.

::

    libsvm:  <label> <id>:<value> <id>:<value> ...            e.g.  1 3:1 17:0.5
    libffm:  <label> <field>:<id>:<value> ...                 e.g.  0 0:3:1 1:17:1

Both readers yield ``(features, labels)`` batches: ``features`` a dict of `SparseInput`
(libsvm: one field, named ``field``, or one per id range with ``field_ranges``; libffm:
one per field), ``labels`` float64 [n] as written in the file, or with
``binary_labels=True`` -1/0 as 0 and 1 as 1 (any other label is a bad line). With
``label=False`` the lines carry no label (every token is a feature, as in files written
for prediction) and the readers yield ``features`` alone. Text after
``#`` is a comment; blank lines are skipped. Ids are kept as written (``zero_based=False``
subtracts one, for 1-based files); in libffm the id space is global, shared by all fields,
so every field's vocabulary size is the file's number of features.

Lines are split in Python, then every batch's ids and values are parsed with one vectorized
NumPy call; only a batch that contains a bad token is re-scanned line by line to name it.
"""
from __future__ import annotations

import numpy as np

from ..inputs import SparseInput
from ..records import Ragged
from ._base import StreamReader, check_positive_int, chunks, open_text, read_errors
from .batching import batch_length, concat_batches, rebatch
from .report import BadLine, BadLineError, ReadReport

__all__ = ["LibsvmReader", "LibffmReader"]


class _SparseTextReader(StreamReader):
    """Shared streaming, batching and error handling; subclasses say how many ``:``-parts a
    token has and how entries are grouped into fields."""

    _parts = 2  # id:value

    def __init__(self, path, *, batch_size, n_features, zero_based, dtype, skip_bad_lines,
                 shuffle_buffer, random_state, encoding, binary_labels=False, label=True):
        if not isinstance(label, (bool, np.bool_)):
            raise TypeError(f"label must be True (the first token of a line is its label) "
                            f"or False (lines carry no label), got {label!r}")
        if binary_labels and not label:
            raise ValueError("binary_labels=True needs label=True: with label=False the "
                             "lines carry no label to map")
        self.label = bool(label)
        super().__init__(path, batch_size=batch_size, shuffle_buffer=shuffle_buffer,
                         random_state=random_state, skip_bad_lines=skip_bad_lines,
                         encoding=encoding)
        self.n_features = None if n_features is None else int(n_features)
        self.zero_based = bool(zero_based)
        self.dtype = np.dtype(dtype)
        self.binary_labels = bool(binary_labels)

    # ------------------------------------------------------------------ passes
    def iter_epoch(self, epoch):
        for batch in self._parsed_batches(epoch):
            yield self._yielded(self._to_inputs(batch))

    def _parsed_batches(self, epoch):
        """Parsed batches of ``batch_size`` lines (the last may be shorter), counted in a
        fresh `ReadReport` (``self.report``)."""
        report = ReadReport()
        self.report = report
        lines = self._shuffled(self._lines(), epoch)
        parsed = (self._parse_chunk(chunk, report) for chunk in chunks(lines, self.batch_size))
        parsed = (batch for batch in parsed if batch is not None)
        for batch in rebatch(parsed, self.batch_size):
            report.rows += batch_length(batch)
            yield batch

    def _yielded(self, inputs):
        """``(features, labels)``, or ``features`` alone when the lines carry no label."""
        return inputs if self.label else inputs[0]

    def _lines(self):
        """``(line_number, text)`` of every non-blank line, comments removed."""
        with open_text(self.path, self.encoding) as handle, \
                read_errors(self.path, self.encoding):
            for number, text in enumerate(handle, start=1):
                if "#" in text:
                    text = text[:text.index("#")]
                if text.strip():
                    yield number, text

    # ------------------------------------------------------------------ parsing
    def _parse_chunk(self, chunk, report):
        """``{"label": float64 [n], "ids": Ragged(ids, lengths, weights=values)
        [, "fields": Ragged(field numbers)]}`` for the good lines of ``chunk``."""
        try:
            return self._parse_fast(chunk)
        except (ValueError, OverflowError):
            pass
        good = []
        for number, text in chunk:
            bad = self._check_line(number, text)
            if bad is None:
                good.append((number, text))
            elif self.skip_bad_lines:
                report.add(bad)
            else:
                raise BadLineError(bad)
        return self._parse_fast(good) if good else None

    def _parse_fast(self, chunk):
        labels, lengths, tokens = [], [], []
        first = 1 if self.label else 0          # index of a line's first feature token
        for _, text in chunk:
            parts = text.split()
            labels.append(parts[0] if self.label else "0")
            lengths.append(len(parts) - first)
            tokens.extend(parts[first:])
        labels = np.asarray(labels, dtype=np.float64)
        token_text = np.asarray(tokens, dtype=np.str_)
        if token_text.size and np.any(np.char.count(token_text, ":") != self._parts - 1):
            raise ValueError("malformed token")
        pieces = ":".join(tokens).split(":") if tokens else []
        k = self._parts
        ids = np.asarray(pieces[k - 2::k], dtype=np.str_).astype(np.int64)
        values = np.asarray(pieces[k - 1::k], dtype=np.float64)
        if not self.zero_based:
            ids -= 1
        if ids.size and (ids.min() < 0 or (self.n_features is not None
                                           and ids.max() >= self.n_features)):
            raise ValueError("id out of range")
        self._check_ids_fast(ids)
        if self.binary_labels:
            if not np.all(np.isin(labels, (-1.0, 0.0, 1.0))):
                raise ValueError("label not -1, 0 or 1")
            labels = (labels > 0).astype(np.float64)
        with np.errstate(over="ignore"):
            finite_as_dtype = np.isfinite(values.astype(self.dtype))
        if not np.all(finite_as_dtype) or not np.all(np.isfinite(labels)):
            raise ValueError("non-finite number")
        batch = {"label": labels, "ids": Ragged(ids, lengths, values)}
        if k == 3:
            fields = np.asarray(pieces[0::k], dtype=np.str_).astype(np.int64)
            self._check_fields_fast(fields)
            batch["fields"] = Ragged(fields, lengths)
        return batch

    def _check_fields_fast(self, fields):
        pass

    def _check_ids_fast(self, ids):
        pass

    def _check_id(self, feature_id, text):
        return None

    def _check_line(self, number, text):
        """The first problem on one line as a `BadLine`, or None."""
        parts = text.split()
        if not self.label:
            return self._check_tokens(number, parts, start=1)
        try:
            label = float(parts[0])
        except ValueError:
            return BadLine(self.path, number, None,
                           f"cannot parse label {parts[0]!r} as a number", field=1)
        if not np.isfinite(label):
            return BadLine(self.path, number, None, f"non-finite label {parts[0]!r}", field=1)
        if self.binary_labels and label not in (-1.0, 0.0, 1.0):
            return BadLine(self.path, number, None, f"label {parts[0]!r} is not -1, 0 or 1 "
                           f"(binary_labels=True)", field=1)
        return self._check_tokens(number, parts[1:], start=2)

    def _check_tokens(self, number, tokens, start):
        """The first bad feature token of line ``number`` as a `BadLine` (``field`` is its
        1-based position on the line), or None."""
        for position, token in enumerate(tokens, start=start):
            problem = self._check_token(token)
            if problem is not None:
                return BadLine(self.path, number, None, f"token {token!r}: {problem}",
                               field=position)
        return None

    def _check_token(self, token):
        pieces = token.split(":")
        if len(pieces) != self._parts:
            layout = "id:value" if self._parts == 2 else "field:id:value"
            return f"expected {layout}"
        if self._parts == 3:
            problem = self._check_field(pieces[0])
            if problem is not None:
                return problem
        try:
            feature_id = int(pieces[-2]) - (0 if self.zero_based else 1)
        except ValueError:
            return f"cannot parse id {pieces[-2]!r} as an integer"
        if feature_id >= 2 ** 63:
            return f"id {pieces[-2]} does not fit in int64"
        if feature_id < 0:
            return (f"id {pieces[-2]} is negative" if self.zero_based
                    else f"id {pieces[-2]} is below 1 in a 1-based file")
        if self.n_features is not None and feature_id >= self.n_features:
            return f"id {pieces[-2]} is out of range for n_features={self.n_features}"
        problem = self._check_id(feature_id, pieces[-2])
        if problem is not None:
            return problem
        try:
            value = float(pieces[-1])
        except ValueError:
            return f"cannot parse value {pieces[-1]!r} as a number"
        if not np.isfinite(value):
            return f"non-finite value {pieces[-1]!r}"
        with np.errstate(over="ignore"):
            if not np.isfinite(self.dtype.type(value)):
                return (f"value {pieces[-1]} overflows {self.dtype.name} (largest magnitude "
                        f"{float(np.finfo(self.dtype).max):.4g})")
        return None

    def _check_field(self, text):
        return None

    def read(self, epoch=0):
        """All rows of one pass as a single ``(features, labels)`` (``features`` alone with
        ``label=False``), for files that fit in memory."""
        batches = [self._to_inputs(batch) for batch in self._parsed_batches(epoch)]
        if not batches:
            empty = {"label": np.zeros(0), "ids": Ragged(np.zeros(0, np.int64),
                                                         np.zeros(0, np.int64), np.zeros(0))}
            if self._parts == 3:
                empty["fields"] = Ragged(np.zeros(0, np.int64), np.zeros(0, np.int64))
            return self._yielded(self._to_inputs(empty))
        return self._yielded((concat_batches([features for features, _ in batches]),
                              np.concatenate([labels for _, labels in batches])))


class LibsvmReader(_SparseTextReader):
    """Stream ``(features, labels)`` batches from a libsvm file.

    ``features`` is ``{field: SparseInput}`` with one entry per ``id:value`` token; labels
    are float64 as written (or 0/1 with ``binary_labels``).

    Parameters
    ----------
    path : str or PathLike (``*.gz`` decompressed on the fly)
    batch_size : int
    field : str
        Name of the single sparse field (without ``field_ranges``).
    field_ranges : dict, optional
        Files whose fields are known id ranges (the layout of the public Frappe and
        MovieLens-tag CTR sets: one active id per field) become one field per range:
        ``{name: (start, stop)}`` (ids ``start <= id < stop``, after the ``zero_based``
        shift) or ``{name: size}`` (consecutive ranges from 0, in the dict's order). Each
        field's ids are local (``id - start``, ``vocab_size = stop - start``); an id in no
        range is a bad line.
    n_features : int, optional
        If given, an id ``>= n_features`` is a bad line.
    zero_based : bool
        True: ids as written; False: the file is 1-based and ids are shifted down by one.
    binary_labels : bool
        Labels -1 or 0 become 0, 1 stays 1; any other label is a bad line.
    label : bool
        True: the first token of a line is its label and batches are ``(features,
        labels)``. False: lines carry no label (every token is a feature) and batches are
        ``features`` alone, e.g. for `predict`.
    dtype : float dtype of the feature values.
    skip_bad_lines, shuffle_buffer, random_state, encoding : as for `CsvReader`.

    Examples
    --------
    >>> for features, labels in LibsvmReader("train.svm", batch_size=512):  # doctest: +SKIP
    ...     features["features"]      # SparseInput with n_examples == len(labels)
    >>> reader = LibsvmReader("frappe.libfm", binary_labels=True,           # doctest: +SKIP
    ...                       field_ranges={"user": 957, "item": 4082, "daytime": 7})
    """

    _parts = 2

    def __init__(self, path, *, batch_size=1024, field="features", field_ranges=None,
                 n_features=None, zero_based=True, binary_labels=False, label=True,
                 dtype=np.float32, skip_bad_lines=False, shuffle_buffer=0, random_state=None,
                 encoding="utf-8"):
        super().__init__(path, batch_size=batch_size, n_features=n_features,
                         zero_based=zero_based, dtype=dtype, skip_bad_lines=skip_bad_lines,
                         shuffle_buffer=shuffle_buffer, random_state=random_state,
                         encoding=encoding, binary_labels=binary_labels, label=label)
        self.field = str(field)
        self.field_ranges = None if field_ranges is None else _field_ranges(field_ranges)
        if self.field_ranges is not None:
            bounds = list(self.field_ranges.values())
            self._starts = np.asarray([a for a, _ in bounds], dtype=np.int64)
            self._stops = np.asarray([b for _, b in bounds], dtype=np.int64)

    def _field_of(self, ids):
        """Index of the range holding each id, -1 for an id in no range."""
        index = np.searchsorted(self._starts, ids, side="right") - 1
        inside = index >= 0
        inside[inside] = ids[inside] < self._stops[index[inside]]
        return np.where(inside, index, -1)

    def _check_ids_fast(self, ids):
        if self.field_ranges is not None and ids.size and np.any(self._field_of(ids) < 0):
            raise ValueError("id in no field range")

    def _check_id(self, feature_id, text):
        if self.field_ranges is not None \
                and self._field_of(np.asarray([feature_id], dtype=np.int64))[0] < 0:
            ranges = ", ".join(f"{name} [{a}, {b})" for name, (a, b)
                               in self.field_ranges.items())
            return f"id {text} is in no field range ({ranges})"
        return None

    def _to_inputs(self, batch):
        ids = batch["ids"]
        if self.field_ranges is None:
            features = SparseInput(ids.row_ids, ids.values, ids.weights, n_examples=len(ids),
                                   field=self.field, vocab_size=self.n_features,
                                   dtype=self.dtype, validate=False)
            return {self.field: features}, batch["label"]
        row_ids, field_of = ids.row_ids, self._field_of(ids.values)
        # group entries by field, keeping row order inside a field (stable sort)
        order = np.argsort(field_of, kind="stable")
        bounds = np.searchsorted(field_of[order], np.arange(len(self._starts) + 1))
        features = {}
        for k, name in enumerate(self.field_ranges):
            entries = order[bounds[k]:bounds[k + 1]]
            features[name] = SparseInput(
                row_ids[entries], ids.values[entries] - self._starts[k], ids.weights[entries],
                n_examples=len(ids), field=name,
                vocab_size=int(self._stops[k] - self._starts[k]), dtype=self.dtype,
                validate=False)
        return features, batch["label"]


def _field_ranges(field_ranges):
    """``{name: (start, stop)}`` from ``{name: (start, stop)}`` or ``{name: size}``;
    ``ValueError`` for an empty, reversed or overlapping range."""
    if not isinstance(field_ranges, dict) or not field_ranges:
        raise TypeError(f"field_ranges must be a non-empty dict {{name: (start, stop)}} or "
                        f"{{name: size}}, got {field_ranges!r}")
    ranges, next_start = {}, 0
    for name, bound in field_ranges.items():
        if isinstance(bound, (tuple, list)) and len(bound) == 2:
            start, stop = int(bound[0]), int(bound[1])
        elif isinstance(bound, (int, np.integer)) and not isinstance(bound, bool):
            start, stop = next_start, next_start + int(bound)
        else:
            raise TypeError(f"field_ranges[{name!r}] must be (start, stop) or a size, got "
                            f"{bound!r}")
        if not 0 <= start < stop:
            raise ValueError(f"field_ranges[{name!r}] = [{start}, {stop}) is empty or negative")
        ranges[str(name)] = (start, stop)
        next_start = stop
    ordered = sorted(ranges.items(), key=lambda item: item[1][0])
    for (name_a, (_, stop_a)), (name_b, (start_b, _)) in zip(ordered, ordered[1:]):
        if start_b < stop_a:
            raise ValueError(f"field_ranges {name_a!r} and {name_b!r} overlap")
    return dict(ordered)


class LibffmReader(_SparseTextReader):
    """Stream ``(features, labels)`` batches from a libffm file: one `SparseInput` per
    field (fields absent from a row give that row an empty bag).

    Field names: ``field_names`` (a list, where position ``k`` names field number ``k``,
    or a dict ``{field number: name}``); else ``"f0"``, ``"f1"``, ... for ``n_fields``
    fields; else the fields are discovered with one extra pass over the file at
    construction (every number from 0 to the largest seen). A field number without a name
    is a bad line. ``max_fields`` (default 10000) bounds the number of fields: a larger
    ``n_fields``, or a discovered field number ``>= max_fields``, is an error naming the
    line, so a file naming field 1000000000 cannot make the reader build a billion names.
    Other parameters as in `LibsvmReader`.
    """

    _parts = 3

    def __init__(self, path, *, batch_size=1024, field_names=None, n_fields=None,
                 n_features=None, zero_based=True, binary_labels=False, label=True,
                 dtype=np.float32, skip_bad_lines=False, shuffle_buffer=0, random_state=None,
                 encoding="utf-8", max_fields=10000):
        super().__init__(path, batch_size=batch_size, n_features=n_features,
                         zero_based=zero_based, dtype=dtype, skip_bad_lines=skip_bad_lines,
                         shuffle_buffer=shuffle_buffer, random_state=random_state,
                         encoding=encoding, binary_labels=binary_labels, label=label)
        self.max_fields = check_positive_int("max_fields", max_fields)
        if field_names is None:
            if n_fields is None:
                n_fields = self._count_fields()
            n_fields = check_positive_int("n_fields", n_fields, minimum=0)
            if n_fields > self.max_fields:
                raise ValueError(f"{self.path}: n_fields={n_fields} is more than "
                                 f"max_fields={self.max_fields}; raise max_fields if the "
                                 f"file really has that many fields")
            field_names = {k: f"f{k}" for k in range(n_fields)}
        elif not isinstance(field_names, dict):
            field_names = dict(enumerate(field_names))
        field_names = {int(k): str(v) for k, v in field_names.items()}
        if len(set(field_names.values())) != len(field_names):
            raise ValueError(f"field_names must be distinct, got {field_names}")
        self.field_names = field_names
        self._known_fields = np.asarray(sorted(field_names), dtype=np.int64)

    def _count_fields(self):
        largest = -1
        for number, text in self._lines():
            first = 1 if self.label else 0
            for position, token in enumerate(text.split()[first:], start=first + 1):
                head = token.split(":", 1)[0]
                if head.isdigit() and int(head) > largest:
                    largest = int(head)
                    if largest >= self.max_fields:
                        raise BadLineError(BadLine(
                            self.path, number, None,
                            f"field number {largest} is not below max_fields="
                            f"{self.max_fields} (the fields are numbered from 0 and each "
                            f"gets a name); pass field_names=... or a larger max_fields",
                            field=position))
        return largest + 1

    def _check_fields_fast(self, fields):
        if fields.size and not np.all(np.isin(fields, self._known_fields)):
            raise ValueError("unknown field")

    def _check_field(self, text):
        try:
            number = int(text)
        except ValueError:
            return f"cannot parse field {text!r} as an integer"
        if number not in self.field_names:
            return f"field {number} has no name (known fields: {sorted(self.field_names)})"
        return None

    def _to_inputs(self, batch):
        ids, fields = batch["ids"], batch["fields"].values
        n = len(ids)
        row_ids = ids.row_ids
        # group entries by field, keeping row order inside a field (stable sort)
        order = np.argsort(fields, kind="stable")
        bounds = np.searchsorted(fields[order], self._known_fields, side="left")
        ends = np.searchsorted(fields[order], self._known_fields, side="right")
        features = {}
        for number, start, stop in zip(self._known_fields.tolist(), bounds, ends):
            entries = order[start:stop]
            name = self.field_names[number]
            features[name] = SparseInput(row_ids[entries], ids.values[entries],
                                         ids.weights[entries], n_examples=n, field=name,
                                         vocab_size=self.n_features, dtype=self.dtype,
                                         validate=False)
        return features, batch["label"]
