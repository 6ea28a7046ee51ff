"""Cross ids read back as token combinations: recorded while fitting, bounded, collisions
marked, saved with the spec, and used by strongest_rules / explain."""
import numpy as np

from widedeep.features import (BucketizedColumn, CategoricalColumn, CrossedColumn,
                               FeatureSpec, stable_hash)
from widedeep.records import Ragged
from widedeep.serving import explain, strongest_rules


def _batch(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return {"country": rng.choice(["us", "de", "fr"], n),
            "app": rng.choice(["mail", "maps", "chess", "news", "tv"], n)}


def _spec(buckets=1 << 16, max_origins=100_000):
    return FeatureSpec([CategoricalColumn("country"), CategoricalColumn("app"),
                        CrossedColumn(["country", "app"], hash_buckets=buckets,
                                      max_origins=max_origins)])


def test_every_cross_id_is_named_by_the_combination_that_made_it():
    batch = _batch()
    spec = _spec().fit([batch])
    ids = spec.transform(batch)["country_x_app"].feature_ids
    expected = [f"country={c} AND app={a}" for c, a in zip(batch["country"], batch["app"])]
    assert spec.id_labels("country_x_app", ids) == expected
    assert len(spec._by_name["country_x_app"].origins_) == 15      # 3 x 5 combinations


def test_bags_give_every_pair():
    batch = {"installed": Ragged.from_lists([["netflix", "maps"], ["chess"]]),
             "shown": np.array(["pandora", "pandora"])}
    spec = FeatureSpec([CategoricalColumn("installed"), CategoricalColumn("shown"),
                        CrossedColumn(["installed", "shown"], hash_buckets=1 << 20)]).fit(batch)
    ids = spec.transform(batch)["installed_x_shown"].feature_ids
    assert sorted(spec.id_labels("installed_x_shown", ids)) == [
        "installed=chess AND shown=pandora", "installed=maps AND shown=pandora",
        "installed=netflix AND shown=pandora"]


def test_memory_bound_keeps_only_max_origins_ids():
    batch = _batch()
    spec = _spec(max_origins=4).fit([batch])
    ids = np.unique(spec.transform(batch)["country_x_app"].feature_ids)
    labels = spec.id_labels("country_x_app", ids)
    named = [label for label in labels if " AND " in label]
    assert len(named) == 4 and len(ids) == 15
    assert all(label.startswith("<country_x_app:hash:") for label in labels
               if " AND " not in label)


def test_collisions_are_marked():
    batch = _batch()
    spec = _spec(buckets=1).fit([batch])            # every combination lands on id 0
    (label,) = spec.id_labels("country_x_app", [0])
    assert label.endswith(" | ...") and " AND " in label


def test_origins_survive_json_round_trip():
    batch = _batch()
    spec = _spec().fit([batch])
    again = FeatureSpec.from_json(spec.to_json())
    ids = spec.transform(batch)["country_x_app"].feature_ids
    assert again.id_labels("country_x_app", ids) == spec.id_labels("country_x_app", ids)


def test_learned_bucket_crosses_fall_back_to_hash_ids():
    rng = np.random.default_rng(0)
    batch = {"age": rng.normal(40, 10, 200), "app": rng.choice(["a", "b"], 200)}
    spec = FeatureSpec([BucketizedColumn("age_b", source="age", n_buckets=4),
                        CategoricalColumn("app"),
                        CrossedColumn(["age_b", "app"], hash_buckets=100)]).fit(batch)
    ids = spec.transform(batch)["age_b_x_app"].feature_ids[:3]
    assert all(label.startswith("<age_b_x_app:hash:")
               for label in spec.id_labels("age_b_x_app", ids))
    given = FeatureSpec([BucketizedColumn("age_b", source="age", boundaries=[30, 50]),
                         CategoricalColumn("app"),
                         CrossedColumn(["age_b", "app"], hash_buckets=100)]).fit(batch)
    row = int(np.argmax(batch["age"]))            # surely >= 50
    ids = given.transform(batch)["age_b_x_app"].feature_ids[[row]]
    assert given.id_labels("age_b_x_app", ids) == [f"age_b>=50 AND app={batch['app'][row]}"]


def test_strongest_rules_print_the_planted_cross():
    from widedeep import WideEstimator
    batch = _batch(4000, seed=1)
    y = ((batch["country"] == "de") & (batch["app"] == "chess")).astype(float)
    spec = FeatureSpec([CategoricalColumn("country"), CategoricalColumn("app"),
                        CrossedColumn(["country", "app"], hash_buckets=1 << 12)]).fit(batch)
    features = spec.transform(batch)
    model = WideEstimator({"country_x_app": 1 << 12}, epochs=5, random_state=0)
    model.fit({"country_x_app": features["country_x_app"]}, y)
    best = strongest_rules(model, spec=spec, top=1)[0]
    assert best.token == "country=de AND app=chess" and best.weight > 0
    assert str(best).startswith("country=de AND app=chess: +")


def test_explain_omits_zero_weight_rules():
    from widedeep import WideEstimator
    batch = _batch(500)
    y = (batch["app"] == "chess").astype(float)
    spec = FeatureSpec([CategoricalColumn("country"), CategoricalColumn("app")]).fit(batch)
    model = WideEstimator({"country": 4, "app": 6}, epochs=5,
                          random_state=0).fit(spec.transform(batch), y)
    model.wide_.params["country"][:] = 0.0          # as FTRL's L1 leaves pruned weights
    one = {k: v[:1] for k, v in batch.items()}
    shown = explain(model, one, spec=spec)
    assert [c.field for c in shown.wide_contributions] == ["app"]
    assert abs(shown.wide_logit - shown.logit) < 1e-5


def test_keys_are_the_stable_hash_combination():
    # the recorded key of a single pair is the cross's own key (independent recomputation)
    from widedeep.features.hashing import combine_hashes
    batch = {"country": np.array(["de"]), "app": np.array(["chess"])}
    spec = _spec().fit(batch)
    origins = spec._by_name["country_x_app"].origins_
    key = combine_hashes(stable_hash(np.array(["de"])), stable_hash(np.array(["chess"])))
    assert origins.keys.tolist() == key.tolist()
