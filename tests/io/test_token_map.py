import numpy as np
import pytest

from widedeep.io.token_map import id_space, is_hashed_tokens, match_rows


def test_rows_are_matched_by_token_whatever_the_order():
    old = id_space(4, ["<OOV>", "a", "b", "c"], "old")
    new = id_space(5, ["<OOV>", "c", "x", "a", "y"], "new")
    new_rows, old_rows, how, _ = match_rows(old, new)
    assert how == "token"
    assert dict(zip(new_rows.tolist(), old_rows.tolist())) == {0: 0, 1: 3, 3: 1}


def test_matching_agrees_with_a_dictionary_reference_on_random_vocabularies():
    rng = np.random.default_rng(0)
    universe = np.array([f"t{k}" for k in range(2000)])
    old_tokens = rng.choice(universe, 700, replace=False)
    new_tokens = rng.choice(universe, 900, replace=False)
    new_rows, old_rows, _, _ = match_rows(id_space(700, old_tokens, "old"),
                                          id_space(900, new_tokens, "new"))
    reference = {k: {t: i for i, t in enumerate(old_tokens)}[t]
                 for k, t in enumerate(new_tokens) if t in set(old_tokens)}
    assert dict(zip(new_rows.tolist(), old_rows.tolist())) == reference


def test_hash_buckets_carry_by_id_only_with_the_same_size():
    rows, _, how, _ = match_rows(id_space(8, None, "old"), id_space(8, None, "new"))
    assert how == "id" and rows.tolist() == list(range(8))
    rows, _, how, reason = match_rows(id_space(8, None, "old"), id_space(16, None, "new"))
    assert how == "none" and rows.size == 0 and "(8 -> 16)" in reason
    _, _, how, reason = match_rows(id_space(2, ["a", "b"], "old"), id_space(2, None, "new"))
    assert how == "none" and "new ids are hash buckets" in reason


def test_hashed_token_lists_are_recognized():
    assert is_hashed_tokens([f"<hash:{k}>" for k in range(5)])
    assert is_hashed_tokens([f"<a_x_b:hash:{k}>" for k in range(3)])
    assert not is_hashed_tokens(["<OOV>", "red"])
    assert id_space(3, [f"<hash:{k}>" for k in range(3)], "x").hashed


def test_a_token_naming_two_ids_is_an_error():
    with pytest.raises(ValueError, match="old token 'a' names two ids"):
        match_rows(id_space(3, ["a", "b", "a"], "old"), id_space(1, ["a"], "new"))


def test_a_new_token_naming_two_ids_is_an_error():
    with pytest.raises(ValueError, match="new token 'b' names two ids"):
        match_rows(id_space(2, ["a", "b"], "old"), id_space(3, ["b", "c", "b"], "new"))
