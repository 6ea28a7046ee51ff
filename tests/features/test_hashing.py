import json
import os
import subprocess
import sys

import numpy as np

from widedeep.features.hashing import (combine_hashes, fmix64, fnv1a_64, hash_to_buckets,
                                       stable_hash)

TOKENS = ["", "a", "foobar", "Bachelors", "héllo wörld", "日本語", "x" * 70, "42"]


def reference_fnv1a_64(token):
    """Independent byte-at-a-time FNV-1a 64 (Python ints)."""
    h = 0xCBF29CE484222325
    for byte in token.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) % 2 ** 64
    return h


def reference_fmix64(h):
    mask = 2 ** 64 - 1
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & mask
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & mask
    h ^= h >> 33
    return h


def test_fnv1a_matches_published_test_vectors():
    assert fnv1a_64(["", "a", "foobar"]).tolist() == [
        0xCBF29CE484222325, 0xAF63DC4C8601EC8C, 0x85944171F73967E8]


def test_fnv1a_matches_a_byte_by_byte_reference_on_mixed_lengths_and_utf8():
    assert fnv1a_64(TOKENS).tolist() == [reference_fnv1a_64(t) for t in TOKENS]


def test_fnv1a_matches_the_reference_on_many_random_tokens_of_every_length():
    """Equal lengths (no masking), mixed lengths (the length-sorted tail), ASCII (read as
    code points) and non-ASCII (encoded) batches, with an interior NUL."""
    rng = np.random.default_rng(0)
    alphabet = list("abcXYZ019_-") + ["\u00e9", "\u65e5", "\U0001f600", "\x00"]
    for ascii_only in (True, False):
        letters = alphabet[:11] if ascii_only else alphabet
        for lengths in (np.full(40, 6), rng.integers(0, 12, 300)):
            tokens = ["".join(rng.choice(letters, size=k)) for k in lengths]
            tokens = [t.rstrip("\x00") for t in tokens]   # NumPy strips trailing NULs
            assert fnv1a_64(np.array(tokens, dtype=str)).tolist() == \
                [reference_fnv1a_64(t) for t in tokens]


def test_stable_hash_is_fmix64_of_fnv1a():
    expected = [reference_fmix64(reference_fnv1a_64(t)) for t in TOKENS]
    assert stable_hash(TOKENS).tolist() == expected
    assert fmix64(np.array([0], dtype=np.uint64)).tolist() == [0]


def test_non_string_tokens_hash_as_their_str():
    assert stable_hash(np.array([7, 42])).tolist() == stable_hash(["7", "42"]).tolist()


def test_hash_to_buckets_is_in_range_and_consistent_for_repeated_tokens():
    tokens = np.array(["b", "a", "b", "c", "a"])
    buckets = hash_to_buckets(tokens, 7)
    assert buckets.dtype == np.int64
    assert np.all((buckets >= 0) & (buckets < 7))
    assert buckets[0] == buckets[2] and buckets[1] == buckets[4]
    assert buckets.tolist() == [reference_fmix64(reference_fnv1a_64(t)) % 7 for t in tokens]


def test_hash_buckets_spread_tokens_roughly_uniformly():
    tokens = np.array([f"user{i}" for i in range(20000)])
    counts = np.bincount(hash_to_buckets(tokens, 10), minlength=10)
    assert counts.min() > 1800 and counts.max() < 2200


def test_combine_hashes_is_order_dependent():
    a, b = stable_hash(["x"]), stable_hash(["y"])
    assert combine_hashes(a, b)[0] != combine_hashes(b, a)[0]


def test_hashes_are_the_same_in_a_fresh_process_with_another_hash_seed():
    code = ("import json; from widedeep.features.hashing import stable_hash; "
            f"print(json.dumps(stable_hash({TOKENS!r}).tolist()))")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, check=True)
    assert json.loads(result.stdout) == stable_hash(TOKENS).tolist()
