"""Raw click tables for the Dask tests: categorical and numeric columns, a label and a
sample weight, as pandas and dask DataFrames with uneven partitions, plus the spec."""
import numpy as np
import pandas as pd

from widedeep.features import CategoricalColumn, CrossedColumn, FeatureSpec, NumericColumn


def click_frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    user = rng.integers(0, 25, n)
    item = rng.integers(0, 12, n)
    price = np.round(rng.gamma(2.0, 3.0, n), 2)
    logit = (user % 4 - 1.5) * 0.8 + (item % 3 - 1.0) - 0.1 * price
    return pd.DataFrame({
        "user": [f"u{u}" for u in user], "item": [f"i{i}" for i in item], "price": price,
        "clicked": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64),
        "weight": rng.uniform(0.5, 1.5, n)})


def uneven_dask_frame(frame, cuts=(0, 40, 41, 170, 300)):
    """Partitions of 40, 1, 129 and 130 rows."""
    import dask.dataframe as dd
    return dd.from_delayed([_part(frame.iloc[a:b]) for a, b in zip(cuts[:-1], cuts[1:])],
                           meta=frame.iloc[:0])


def _part(frame):
    import dask
    return dask.delayed(lambda f: f, pure=True)(frame)


def click_spec():
    return FeatureSpec([CategoricalColumn("user", embedding_dim=4),
                        CategoricalColumn("item", embedding_dim=4),
                        NumericColumn("price", normalization="quantile", n_quantiles=10),
                        NumericColumn("log_price", source="price", normalization="log1p"),
                        CrossedColumn(["user", "item"], hash_buckets=64)])
