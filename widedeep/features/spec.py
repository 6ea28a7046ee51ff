"""`FeatureSpec`: the declared columns, fitted in one streaming pass, turning raw column
batches into the feature dict estimators consume, and deriving the estimators' sizes.

Fields of the feature dict (docs/ARCHITECTURE.md)
    - every categorical, hashed, bucketized or crossed column that feeds the wide or the deep
      part: a `SparseInput` named after the column (crosses: ``"a_x_b"`` by default);
    - every `NumericColumn` with ``wide=True``: a one-coordinate `SparseInput` named after it;
    - deep numeric columns: one dense float32 field per ``dense_field`` (default
      ``"numeric"``), ``[n_examples, number of its columns]`` in declaration order.

Fitting reads an iterable of column batches once: vocabularies count tokens (memory: the
distinct tokens), standardized columns keep running moments, quantile and learned-bucket
columns keep a fixed-size `QuantileSummary`. Nothing else is kept, so the data may be far
larger than memory. A spec with nothing to learn (given vocabularies and boundaries,
hashing, raw numbers) can transform without fitting.

>>> from widedeep.features import CategoricalColumn, NumericColumn, CrossedColumn
>>> spec = FeatureSpec([
...     CategoricalColumn("color", embedding_dim=4),
...     CategoricalColumn("shape", wide=False),
...     NumericColumn("size"),
...     CrossedColumn(["color", "shape"], hash_buckets=100)])
>>> batch = {"color": np.array(["red", "blue", "red"]),
...          "shape": np.array(["box", "box", "ball"]), "size": np.array([1.0, 2.0, 3.0])}
>>> spec.fit([batch]).estimator_params()["vocabularies"]
{'color': (3, 4)}
>>> features = spec.transform({"color": np.array(["green"]), "shape": np.array(["box"]),
...                            "size": np.array([2.0])})
>>> features["color"].feature_ids.tolist(), features["numeric"].tolist()
([0], [[0.0]])
"""
from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Mapping

import numpy as np

from ..readers.batching import concat_batches
from ..readers.in_memory import columns_from_dataframe, is_dataframe
from ..records import Ragged
from .batches import SpecBatches, as_column_batches
from .bucketized import BucketizedColumn
from .casting import to_model_dtype
from .columns import CategoricalColumn, FeatureColumn, HashedColumn
from .crosses import CrossedColumn
from .hashed_together import MAX_TOKENS_TOGETHER, hash_columns_together
from .numeric import NumericColumn
from .parsing import ParsedBatch
from .spec_schema import check_spec_dict
from .vocabulary import Vocabulary

__all__ = ["FeatureSpec"]

logger = logging.getLogger("widedeep")

_FORMAT = "widedeep.FeatureSpec"
_VERSION = 1
_COLUMN_TYPES = {cls.type_name: cls for cls in
                 (CategoricalColumn, HashedColumn, NumericColumn, BucketizedColumn,
                  CrossedColumn)}


class FeatureSpec:
    """Feature columns declared once for training and serving.

    Parameters
    ----------
    columns : sequence of FeatureColumn
        `CategoricalColumn`, `HashedColumn`, `NumericColumn`, `BucketizedColumn`,
        `CrossedColumn`, with distinct names.

    Attributes (after `fit`)
    ------------------------
    n_rows_seen_ : int
        Rows read by the last `fit`.
    """

    def __init__(self, columns):
        if isinstance(columns, FeatureColumn) or not hasattr(columns, "__iter__"):
            raise TypeError(f"FeatureSpec needs a sequence of feature columns, got "
                            f"{type(columns).__name__}")
        self.columns = list(columns)
        if not self.columns:
            raise ValueError("FeatureSpec needs at least one column")
        by_name = {}
        for column in self.columns:
            if isinstance(column, Vocabulary):
                raise TypeError(f"Vocabulary {column.name!r} is not a column; pass it to "
                                f"CategoricalColumn(..., vocabulary=...)")
            if not isinstance(column, FeatureColumn):
                raise TypeError(f"unknown column type {type(column).__name__}: expected one "
                                f"of {', '.join(c.__name__ for c in _COLUMN_TYPES.values())}")
            if column.name in by_name:
                raise ValueError(f"two columns are named {column.name!r}")
            by_name[column.name] = column
        self._by_name = by_name
        for column in self.columns:
            if isinstance(column, CrossedColumn):
                column.bind(by_name)
        self._vocabularies = _collect_vocabularies(self.columns)
        self._dense_groups = {}
        for column in self.columns:
            if column.is_dense:
                self._dense_groups.setdefault(column.dense_field, []).append(column)
        _check_tables_and_fields(self.columns, self._vocabularies, self._dense_groups)
        self._sources = list(dict.fromkeys(s for c in self.columns for s in c.sources))
        self._field_sources = _field_sources(self.columns)
        self.n_rows_seen_ = None

    # ------------------------------------------------------------------ fitting
    def fit(self, batches):
        """Learn vocabularies, moments and boundaries in one pass; returns self.

        ``batches``: one column batch (``dict[str, column]``), a pandas DataFrame, or an
        iterable of batches such as a reader (read once, so a generator streaming a file
        works; ``(columns, labels)`` pairs from a reader made with ``label=`` are fine).
        """
        batches = as_column_batches(batches)
        self.start_fit()
        n_batches = 0
        for batch_number, batch in enumerate(batches):
            if isinstance(batch, tuple):      # (columns, labels[, weights]) from a reader
                batch = batch[0]
            self.observe(batch, f"fit batch {batch_number}")
            n_batches += 1
        if n_batches == 0:
            raise ValueError("FeatureSpec.fit got no batches")
        if self._n_rows_observed == 0 and self.needs_fit:
            raise ValueError(f"FeatureSpec.fit read {n_batches} batch(es) with 0 rows: "
                             f"there is nothing to learn vocabularies, moments or boundaries "
                             f"from (the spec stays unfitted)")
        return self.finish_fit()

    # The streaming fit in steps, for data read in parts by several processes (e.g.
    # widedeep.dask.fit_spec): each part runs start_fit / observe / fit_state, one process
    # merges the parts' states in data order and finishes. Vocabulary counts add up
    # exactly, moments merge by Chan's formula (equal to rounding), and a quantile summary
    # started at its part's stream position (summary_starts, from summary_counts of the
    # parts before) merges into exactly the single-pass sample.
    def start_fit(self, summary_starts=None):
        """Forget the accumulators and begin a streaming fit. ``summary_starts``:
        ``{column name: stream position of the first value its quantile summary takes}``
        when this fit reads a later part of the data (default 0 for every column)."""
        summary_starts = summary_starts or {}
        self.n_rows_seen_ = None  # a fit that fails half-way leaves the spec unfitted
        self._n_rows_observed = 0
        for vocabulary in self._vocabularies.values():
            vocabulary.start_fit()
        for column in self.columns:
            column.start_fit(summary_start=int(summary_starts.get(column.name, 0)))
        return self

    def observe(self, batch, stage="fit"):
        """Add one column batch to the fit in progress."""
        parsed = self._parse(batch, stage)
        for column in self.columns:
            column.observe(parsed)
        self._n_rows_observed += parsed.n_rows
        return self

    @property
    def has_summaries(self):
        """True if some column keeps a quantile summary while fitting."""
        return any(column.has_summary for column in self.columns)

    def summary_counts(self, batch):
        """``{column name: values its quantile summary takes from batch}`` (columns with
        a summary only): what the parts before a part add to its ``summary_starts``."""
        parsed = self._parse(batch, "summary counts")
        counts = {column.name: column.summary_count(parsed) for column in self.columns}
        return {name: count for name, count in counts.items() if count is not None}

    def fit_state(self):
        """The accumulators of the fit in progress as plain data, for `merge_fit_state`."""
        return {"n_rows": self._n_rows_observed,
                "vocabularies": {name: vocabulary.count_state()
                                 for name, vocabulary in self._vocabularies.items()},
                "columns": {column.name: column.fit_state() for column in self.columns}}

    def merge_fit_state(self, state):
        """Add a part's `fit_state` (parts in data order, after `start_fit`)."""
        for name, vocabulary in self._vocabularies.items():
            vocabulary.merge_counts(state["vocabularies"][name])
        for column in self.columns:
            column.merge_fit_state(state["columns"][column.name])
        self._n_rows_observed += int(state["n_rows"])
        return self

    def finish_fit(self):
        """Choose vocabularies, moments and boundaries from the accumulators; returns self."""
        for vocabulary in self._vocabularies.values():
            vocabulary.finish_fit()
            if not vocabulary.given and not vocabulary.tokens_:
                logger.warning("FeatureSpec.fit: vocabulary %r learned no token from %d "
                               "rows (every value missing, or min_count too high); all its "
                               "values map to the OOV bucket(s)", vocabulary.name,
                               self._n_rows_observed)
        for column in self.columns:
            column.finish_fit()
        self.n_rows_seen_ = self._n_rows_observed
        return self

    @property
    def needs_fit(self):
        return any(column.needs_fit for column in self.columns)

    @property
    def fitted(self):
        return self.n_rows_seen_ is not None or not self.needs_fit

    # ------------------------------------------------------------------ transforming
    def transform(self, columns, fields=None):
        """The feature dict of one column batch: ``{field: SparseInput | float32 [n, w]}``.

        ``columns``: a dict of columns or a pandas DataFrame; or a reader, whose rows (one
        pass, labels dropped) are transformed batch by batch and concatenated (for data
        that fits in memory; stream with `batches` otherwise).
        ``fields``: compute only these fields (names from `field_sources`; default all);
        only the raw columns they read must be in the batch. A ranking request uses it to
        transform the user's fields from one row and only the candidates' fields per
        candidate (`widedeep.serving.request_features`)."""
        self._require_fitted("transform")
        wanted = self._wanted_fields(fields)
        if not isinstance(columns, Mapping) and not is_dataframe(columns):
            parts = [self.transform(batch[0] if isinstance(batch, tuple) else batch, fields)
                     for batch in as_column_batches(columns)]
            if not parts:
                raise ValueError("FeatureSpec.transform: the reader yielded no rows")
            return concat_batches(parts)
        if is_dataframe(columns):
            columns = columns_from_dataframe(columns)
        sources = None if wanted is None else \
            dict.fromkeys(s for f in self._field_sources if f in wanted
                          for s in self._field_sources[f])
        parsed = self._parse(columns, "transform", sources)
        # a small batch (a ranking request) hashes its hashed columns in one call
        hashed = hash_columns_together(self.columns, parsed, wanted) \
            if parsed.n_rows <= MAX_TOKENS_TOGETHER else {}
        features = {}
        for column in self.columns:
            if (column.wide or (column.deep and not column.is_dense)) \
                    and (wanted is None or column.name in wanted):
                features[column.name] = hashed[column.name] if column.name in hashed \
                    else column.transform(parsed)
        for field, group in self._dense_groups.items():
            if wanted is not None and field not in wanted:
                continue
            dense = np.empty((parsed.n_rows, len(group)), dtype=np.float32)
            for position, column in enumerate(group):
                dense[:, position] = to_model_dtype(column.values(parsed), column.name)
            features[field] = dense
        return features

    def field_sources(self):
        """``{field: (raw column, ...)}``: every field `transform` produces (sparse fields
        named after their column, dense fields after ``dense_field``) and the raw columns
        it reads, in first-use order."""
        return dict(self._field_sources)

    def _wanted_fields(self, fields):
        if fields is None:
            return None
        if isinstance(fields, str):
            raise TypeError(f"FeatureSpec.transform: fields must be a collection of field "
                            f"names, got the string {fields!r}")
        wanted = set(fields)
        unknown = sorted(f for f in wanted if f not in self._field_sources)
        if unknown:
            raise ValueError(f"FeatureSpec.transform: unknown field {unknown[0]!r}; the spec "
                             f"produces {list(self._field_sources)}")
        return wanted

    def _parse(self, batch, stage, sources=None):
        if not isinstance(batch, Mapping):
            raise TypeError(f"{stage}: a column batch must be a dict of columns, got "
                            f"{type(batch).__name__}")
        sources = self._sources if sources is None else sources
        missing = [source for source in sources if source not in batch]
        if missing:
            users = [c.name for c in self.columns if missing[0] in c.sources]
            raise ValueError(f"{stage}: column {missing[0]!r} (needed by {', '.join(users)}) "
                             f"is missing from the batch; it has {sorted(batch)[:20]}"
                             + (f"; also missing: {missing[1:]}" if len(missing) > 1 else ""))
        return ParsedBatch({source: batch[source] for source in sources})

    def batches(self, source, label=None, weight=None, batch_size=1024, *, shuffle=False,
                random_state=None, positive=None):
        """The re-iterable ``(features, labels[, weights])`` batch source that estimators'
        ``fit``, ``evaluate`` and ``eval_set`` take, from a reader, a DataFrame or a dict
        of columns (`widedeep.features.batches.SpecBatches`)::

            model.fit(spec.batches(CsvReader("train.csv"), label="clicked"))
        """
        self._require_fitted("batches")
        return SpecBatches(self, source, label=label, weight=weight, batch_size=batch_size,
                           shuffle=shuffle, random_state=random_state, positive=positive)

    def raw_columns(self):
        """``{raw column: "number" | "category"}``: every raw column `transform` reads, in
        first-use order, and whether a number (read by a numeric or bucketized column) or a
        categorical value or bag (strings, integers) is expected there."""
        kinds = dict.fromkeys(self._sources, "category")
        for column in self.columns:
            if isinstance(column, (NumericColumn, BucketizedColumn)):
                for source in column.sources:
                    kinds[source] = "number"
        return kinds

    # ------------------------------------------------------------------ estimators
    def estimator_params(self):
        """Constructor keyword arguments for the estimators (docs/ARCHITECTURE.md)::

            {"wide_fields": {field: n_coords}, "vocabularies": {name: (n_rows, dim)},
             "embedding_fields": {field: name}, "combiners": {field: combiner},
             "dense_fields": {field: width}}
        """
        self._require_fitted("estimator_params")
        wide_fields, vocabularies, embedding_fields, combiners = {}, {}, {}, {}
        for column in self.columns:
            if column.wide:
                wide_fields[column.name] = column.n_ids
            if column.deep and not column.is_dense:
                vocabularies[column.vocabulary_name] = (column.n_ids, column.embedding_dim)
                embedding_fields[column.name] = column.vocabulary_name
                combiners[column.name] = column.combiner
        dense_fields = {field: len(group) for field, group in self._dense_groups.items()}
        return {"wide_fields": wide_fields, "vocabularies": vocabularies,
                "embedding_fields": embedding_fields, "combiners": combiners,
                "dense_fields": dense_fields}

    def build_estimator(self, kind="wide_deep", **params):
        """A new `WideEstimator`, `DeepEstimator` or `WideDeepEstimator` (``kind`` "wide",
        "deep" or "wide_deep") sized from the spec; ``params`` are the other constructor
        arguments (``hidden_units``, ``epochs``, ...)."""
        if kind not in ("wide", "deep", "wide_deep"):
            raise ValueError(f"kind must be 'wide', 'deep' or 'wide_deep', got {kind!r}")
        derived = self.estimator_params()
        clash = sorted(set(params) & set(derived))
        if clash:
            raise TypeError(f"build_estimator: {', '.join(clash)} are derived from the spec "
                            f"and cannot be passed")
        wide_fields = derived.pop("wide_fields")
        if kind in ("wide", "wide_deep") and not wide_fields:
            raise ValueError(f"build_estimator(kind={kind!r}): no column feeds the wide part")
        if kind in ("deep", "wide_deep") and not (derived["embedding_fields"]
                                                  or derived["dense_fields"]):
            raise ValueError(f"build_estimator(kind={kind!r}): no column feeds the deep part")
        estimators = importlib.import_module("widedeep.estimators")
        if kind == "wide":
            return estimators.WideEstimator(wide_fields, **params)
        if kind == "deep":
            return estimators.DeepEstimator(**derived, **params)
        return estimators.WideDeepEstimator(wide_fields, **derived, **params)

    # ------------------------------------------------------------------ introspection
    def report(self):
        """What fit learned: rows read; per vocabulary its size, tokens, OOV buckets, the
        OOV rate of the training data (occurrences mapped to an OOV bucket, including
        missing values) and the columns using it; per column its settings, sizes, moments
        and boundaries."""
        vocabularies = {}
        for name, vocabulary in self._vocabularies.items():
            entry = {"n_tokens": len(vocabulary.tokens_) if vocabulary.fitted else None,
                     "size": vocabulary.size if vocabulary.fitted else None,
                     "num_oov_buckets": vocabulary.num_oov_buckets,
                     "given": vocabulary.given, "min_count": vocabulary.min_count,
                     "max_size": vocabulary.max_size,
                     "columns": [c.name for c in self.columns
                                 if isinstance(c, CategoricalColumn)
                                 and c.vocabulary is vocabulary]}
            entry.update(vocabulary.stats_ or {})
            vocabularies[name] = entry
        return {"n_rows": self.n_rows_seen_, "vocabularies": vocabularies,
                "columns": {c.name: c.report() for c in self.columns}}

    def vocabulary_tokens(self, field):
        """Token of each id of a sparse field (``"<OOV>"`` for OOV buckets, bucket ranges
        for bucketized fields, ``"<...hash:k>"`` for hashed fields)."""
        column = self._by_name.get(field)
        if column is None or (column.is_dense and not column.wide):
            raise ValueError(f"{field!r} is not a sparse field of this spec; sparse fields: "
                             f"{[c.name for c in self.columns if not c.is_dense or c.wide]}")
        self._require_fitted("vocabulary_tokens")
        return column.id_tokens()

    def id_labels(self, field, ids):
        """Readable token of each id of sparse field ``field``: the vocabulary token or
        bucket, and for a cross the token combination recorded while fitting
        (``"installed_apps=netflix AND impression_app=pandora"``; `CrossedColumn`'s
        ``max_origins``), else the hash id (``"<name:hash:k>"``)."""
        tokens = self.vocabulary_tokens(field)
        ids = [int(i) for i in np.asarray(ids).reshape(-1)]
        labels = [tokens[i] if 0 <= i < len(tokens) else str(i) for i in ids]
        column = self._by_name[field]
        if isinstance(column, CrossedColumn):
            labels = [found if found is not None else label
                      for found, label in zip(column.id_labels(ids), labels)]
        return labels

    def describe_cross(self, field, example_values):
        """Ids of crossed field ``field`` for one example given the raw value of each
        component (``{"education": "Bachelors", "occupation": "Sales"}``; a list for a bag
        component, a number for a bucketized one)."""
        column = self._by_name.get(field)
        if not isinstance(column, CrossedColumn):
            raise ValueError(f"{field!r} is not a crossed column of this spec")
        self._require_fitted("describe_cross")
        batch = {}
        for component in column.components:
            if component.name not in example_values:
                raise ValueError(f"describe_cross({field!r}): no value for component "
                                 f"{component.name!r}")
            value = example_values[component.name]
            batch[component.source] = Ragged.from_lists([list(value)]) \
                if isinstance(value, (list, tuple)) else np.array([value], dtype=object)
        return column.transform(ParsedBatch(batch)).feature_ids.tolist()

    def _require_fitted(self, what):
        if not self.fitted:
            raise RuntimeError(f"FeatureSpec.{what}: the spec is not fitted; call "
                               f"spec.fit(batches) first")

    # ------------------------------------------------------------------ serialization
    def to_dict(self):
        """JSON-able description: columns, settings and everything learned."""
        return {"format": _FORMAT, "version": _VERSION, "n_rows_seen": self.n_rows_seen_,
                "vocabularies": [v.to_dict() for v in self._vocabularies.values()],
                "columns": [{"type": c.type_name, "config": c.config(), "state": c.state()}
                            for c in self.columns]}

    def to_json(self, indent=None):
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data):
        """The spec of ``to_dict``. Everything is checked first (`spec_schema`): a missing,
        unknown or mistyped key, duplicate tokens or unsorted boundaries raise
        ``ValueError``/``TypeError`` naming the column (or vocabulary) and the key."""
        check_spec_dict(data, _COLUMN_TYPES, _FORMAT, _VERSION)
        vocabularies = {}
        for k, entry in enumerate(data["vocabularies"]):
            try:
                vocabularies[entry["name"]] = Vocabulary.from_dict(entry)
            except (TypeError, ValueError) as error:
                raise type(error)(f"vocabularies[{k}] ({entry['name']!r}): {error}") from None
        columns = []
        for k, entry in enumerate(data["columns"]):
            config = dict(entry["config"])
            where = f"columns[{k}] ({config.get('name', entry['type'])!r})"
            if entry["type"] == "categorical":
                config["vocabulary"] = vocabularies[config["vocabulary"]]
            try:
                column = _COLUMN_TYPES[entry["type"]](**config)
                column.set_state(entry.get("state") or {})
            except (TypeError, ValueError) as error:
                raise type(error)(f"{where}: {error}") from None
            columns.append(column)
        try:
            spec = cls(columns)
        except (TypeError, ValueError) as error:
            raise type(error)(f"spec: {error}") from None
        spec.n_rows_seen_ = data.get("n_rows_seen")
        if spec.n_rows_seen_ is not None:
            _check_learned(spec)
        return spec

    @classmethod
    def from_json(cls, text):
        return cls.from_dict(json.loads(text))

    def __repr__(self):
        return f"FeatureSpec([{', '.join(repr(c) for c in self.columns)}])"


def _field_sources(columns):
    """``{field: (raw column, ...)}`` of the fields `FeatureSpec.transform` produces."""
    sources = {}
    for column in columns:
        if column.wide or (column.deep and not column.is_dense):
            sources.setdefault(column.name, {}).update(dict.fromkeys(column.sources))
        if column.is_dense:
            sources.setdefault(column.dense_field, {}).update(dict.fromkeys(column.sources))
    return {field: tuple(names) for field, names in sources.items()}


def _check_learned(spec):
    """A spec marked fitted must carry what each column learned."""
    for name, vocabulary in spec._vocabularies.items():
        if not vocabulary.fitted:
            raise ValueError(f"vocabulary {name!r}: key 'tokens' is null, but the spec is "
                             f"marked fitted (n_rows_seen={spec.n_rows_seen_})")
    for column in spec.columns:
        if hasattr(column, "fitted") and not isinstance(column, CategoricalColumn) \
                and not column.fitted:
            raise ValueError(f"column {column.name!r}: key 'state' lacks what fit learned "
                             f"(moments or boundaries), but the spec is marked fitted "
                             f"(n_rows_seen={spec.n_rows_seen_})")


def _collect_vocabularies(columns):
    vocabularies = {}
    for column in columns:
        if isinstance(column, CategoricalColumn):
            vocabulary = column.vocabulary
            known = vocabularies.setdefault(vocabulary.name, vocabulary)
            if known is not vocabulary:
                raise ValueError(f"two different vocabularies are named {vocabulary.name!r}; "
                                 f"share one Vocabulary object or rename one")
    return vocabularies


def _check_tables_and_fields(columns, vocabularies, dense_groups):
    tables = {}
    for column in columns:
        if not column.deep or column.is_dense:
            continue
        name = column.vocabulary_name
        owner = tables.setdefault(name, column)
        if owner is column:
            continue
        if not (isinstance(owner, CategoricalColumn) and isinstance(column, CategoricalColumn)
                and owner.vocabulary is column.vocabulary):
            raise ValueError(f"columns {owner.name!r} and {column.name!r} both want an "
                             f"embedding table named {name!r}; rename one")
        if owner.embedding_dim != column.embedding_dim:
            raise ValueError(f"columns {owner.name!r} and {column.name!r} share vocabulary "
                             f"{name!r} but ask for embedding_dim {owner.embedding_dim} and "
                             f"{column.embedding_dim}; a shared table has one dimension")
    for name in tables:
        if name in vocabularies and not isinstance(tables[name], CategoricalColumn):
            raise ValueError(f"column {tables[name].name!r} wants an embedding table named "
                             f"{name!r}, which is also a Vocabulary's name; rename one")
    sparse_fields = {c.name for c in columns if c.wide or (c.deep and not c.is_dense)}
    clash = sorted(sparse_fields & set(dense_groups))
    if clash:
        raise ValueError(f"dense field {clash[0]!r} has the name of a sparse field; pass "
                         f"dense_field=... to the numeric columns")
