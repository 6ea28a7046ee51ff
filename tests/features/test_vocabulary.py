import numpy as np
import pytest

from widedeep.features import Vocabulary
from widedeep.features.hashing import stable_hash


def learned(tokens, **settings):
    vocabulary = Vocabulary("v", **settings)
    vocabulary.start_fit()
    vocabulary.observe(np.array(tokens))
    return vocabulary.finish_fit()


DATA = ["b", "a", "c", "a", "b", "d", "a", "b", "c", "e"]   # a:3 b:3 c:2 d:1 e:1


def test_learned_order_is_count_descending_then_token_ascending():
    assert learned(DATA).tokens_ == ["a", "b", "c", "d", "e"]


def test_min_count_drops_rare_tokens():
    assert learned(DATA, min_count=2).tokens_ == ["a", "b", "c"]


def test_max_size_keeps_the_most_frequent():
    assert learned(DATA, max_size=2).tokens_ == ["a", "b"]


def test_ids_start_after_the_oov_bucket_and_unseen_or_missing_values_get_id_0():
    vocabulary = learned(DATA, min_count=2)
    assert vocabulary.size == 4
    assert vocabulary.lookup(np.array(["c", "a", "zzz", "d", "", "b"])).tolist() == \
        [3, 1, 0, 0, 0, 2]
    assert vocabulary.id_tokens() == ["<OOV>", "a", "b", "c"]


def test_several_oov_buckets_hash_unknown_tokens_stably():
    vocabulary = learned(DATA, min_count=3, num_oov_buckets=5)
    unknown = np.array(["x", "y", "z", "c"])
    expected = (stable_hash(unknown) % np.uint64(5)).astype(np.int64).tolist()
    assert vocabulary.lookup(unknown).tolist() == expected
    assert vocabulary.lookup(np.array(["a", "b"])).tolist() == [5, 6]
    assert vocabulary.id_tokens()[:2] == ["<OOV:0>", "<OOV:1>"]


def test_missing_values_are_not_counted_but_reported():
    vocabulary = learned(["a", "", "a", ""])
    assert vocabulary.tokens_ == ["a"]
    assert vocabulary.stats_["n_missing"] == 2
    assert vocabulary.stats_["oov_rate"] == pytest.approx(0.5)


def test_oov_rate_counts_occurrences_pruned_by_min_count():
    vocabulary = learned(DATA, min_count=3)
    assert vocabulary.stats_["oov_rate"] == pytest.approx(4 / 10)
    assert vocabulary.stats_["n_distinct_seen"] == 5


def test_streaming_counts_equal_one_pass_counts():
    streamed = Vocabulary("v", min_count=2)
    streamed.start_fit()
    for start in range(0, len(DATA), 3):
        streamed.observe(np.array(DATA[start:start + 3]))
    streamed.finish_fit()
    assert streamed.tokens_ == learned(DATA, min_count=2).tokens_


def test_given_vocabulary_keeps_its_order():
    vocabulary = Vocabulary("v", tokens=["z", "a"])
    assert vocabulary.lookup(np.array(["a", "z", "q"])).tolist() == [2, 1, 0]


def test_given_vocabulary_rejects_duplicates_and_the_empty_token():
    with pytest.raises(ValueError, match="appears twice"):
        Vocabulary("v", tokens=["a", "a"])
    with pytest.raises(ValueError, match="empty token"):
        Vocabulary("v", tokens=["a", ""])


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="num_oov_buckets"):
        Vocabulary("v", num_oov_buckets=0)
    with pytest.raises(TypeError, match="min_count"):
        Vocabulary("v", min_count=1.5)


def test_an_unlearned_vocabulary_says_to_fit():
    with pytest.raises(RuntimeError, match="fit"):
        Vocabulary("v").lookup(np.array(["a"]))


def test_a_vocabulary_with_no_kept_token_maps_everything_to_oov():
    vocabulary = learned(["a", "b"], min_count=5)
    assert vocabulary.tokens_ == []
    assert vocabulary.lookup(np.array(["a", "b"])).tolist() == [0, 0]
