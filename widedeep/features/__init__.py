"""From raw column batches to the feature dict: columns, vocabularies, quantiles, crosses.

Declare the columns once, fit them in one streaming pass, and use the same spec for
training and serving::

    spec = FeatureSpec([CategoricalColumn("occupation", embedding_dim=8),
                        BucketizedColumn("age_buckets", source="age", boundaries=[18, 25]),
                        NumericColumn("age", normalization="quantile"),
                        CrossedColumn(["age_buckets", "occupation"], hash_buckets=1000)])
    spec.fit(batches)                      # iterable of dict[str, column]
    features = spec.transform(batch)       # dict[str, SparseInput | float32 [n, w]]
    model = spec.build_estimator("wide_deep", hidden_units=(100, 50))
"""
from .bucketized import BucketizedColumn
from .columns import CategoricalColumn, FeatureColumn, HashedColumn
from .crosses import CrossedColumn
from .hashing import stable_hash
from .numeric import NumericColumn
from .quantiles import QuantileSummary, quantile_boundaries, quantile_normalize
from .spec import FeatureSpec
from .vocabulary import OOV_TOKEN, Vocabulary

__all__ = ["FeatureSpec", "FeatureColumn", "CategoricalColumn", "HashedColumn",
           "NumericColumn", "BucketizedColumn", "CrossedColumn", "Vocabulary", "OOV_TOKEN",
           "QuantileSummary", "quantile_boundaries", "quantile_normalize", "stable_hash"]
