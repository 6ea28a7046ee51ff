"""`widedeep.server.json_codec`: with orjson and with the standard library, the same
accepted bodies, values and errors, and answers that decode to the same JSON values."""
import json
import math
import struct

import numpy as np
import pytest

from widedeep.server import json_codec
from widedeep.server.errors import RequestError
from widedeep.server.request_body import parse_json

needs_orjson = pytest.mark.skipif(json_codec.orjson is None, reason="orjson not installed")


def refuse(name):
    raise ValueError(f"{name} is not valid JSON")


def outcome(function, *args):
    """``("value", value)`` or ``("error", type name, message)``."""
    try:
        return ("value", function(*args))
    except Exception as error:   # noqa: BLE001 - the error itself is compared
        return ("error", type(error).__name__, str(error))


def same_json(a, b):
    """Equal JSON values, floats bit for bit (-0.0 is not 0.0), types included (1 is not
    1.0); walked with a stack, not recursion (bodies nest 500 deep)."""
    stack = [(a, b)]
    while stack:
        a, b = stack.pop()
        if type(a) is not type(b):
            return False
        if isinstance(a, float):
            if struct.pack("<d", a) != struct.pack("<d", b):
                return False
        elif isinstance(a, dict):
            if list(a) != list(b):
                return False
            stack.extend((a[k], b[k]) for k in a)
        elif isinstance(a, list):
            if len(a) != len(b):
                return False
            stack.extend(zip(a, b))
        elif a != b:
            return False
    return True


def nested(depth):
    return b"[" * depth + b"]" * depth


HOSTILE = {
    "NaN": b'{"a": NaN}', "Infinity": b'{"a": Infinity}', "-Infinity": b'[-Infinity]',
    "overflowing float": b'{"a": 1e400}', "overflowing negative float": b'[-1e400]',
    "underflowing float": b'[1e-400, 4.9e-324, 2.4703282292062328e-324]',
    "u64 max": b'[18446744073709551615]', "beyond u64": b'[18446744073709551616]',
    "below i64": b'[-9223372036854775809]', "i64 min": b'[-9223372036854775808]',
    "5000-digit integer": b"[" + b"7" * 5000 + b"]",
    "long float mantissa": b"[0.12345678901234567890123456789]",
    "minus zero": b"[-0, -0.0, 0e0, 1E+2, 1e-2]",
    "duplicate keys": b'{"a": 1, "b": 2, "a": 3}',
    "invalid UTF-8": b'{"a": "\xff\xfe"}', "truncated UTF-8": b'{"a": "\xe6\x97"}',
    "UTF-8 encoded surrogate": b'{"a": "\xed\xa0\x80"}',
    "escaped lone surrogate": b'{"\\ud800": "\\udfff"}',
    "escaped surrogate pair": b'["\\ud83d\\ude00"]',
    "byte order mark": b'\xef\xbb\xbf{"a": 1}',
    "UTF-16": '{"a": 1}'.encode("utf-16"),
    "UTF-32": '{"a": 1}'.encode("utf-32"),
    "control character": b'["a\x01b"]', "tab in a string": b'["a\tb"]', "DEL": b'["\x7f"]',
    "NUL escape": b'["\\u0000"]', "raw NUL after": b'{"a": 1}\x00',
    "form feed whitespace": b'\x0c{}', "whitespace": b' \t\r\n{"a" : [ 1 , 2 ] }\n ',
    "trailing garbage": b'{"a": 1} x', "trailing comma": b'[1, 2,]', "single quotes": b"['a']",
    "empty": b"", "only whitespace": b"   ", "bare string": b'"text"', "bare number": b"12",
    "unterminated": b'{"query": ', "leading zero": b"[01]", "bad exponent": b"[0.1e]",
    "plus sign": b"[+1]", "hex": b"[0x10]", "comment": b"[1] // no",
    "true false null": b"[true, false, null]",
    "depth 100": nested(100), "depth 512": nested(512), "depth 513": nested(513),
    "depth 1100": nested(1100), "depth 50000": nested(50_000),
    "many shallow rows": b'{"candidates": [' + b", ".join([b'{"a": "x"}'] * 2000) + b"]}",
    "digits inside strings": b'{"id": "1234567890123456789012"}',
    "unicode": '{"名前": "値", "emoji": "😀", "accent": "é"}'.encode(),
}


@needs_orjson
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_orjson_and_json_accept_the_same_bodies_with_the_same_values_or_errors(case):
    body = HOSTILE[case]
    got = outcome(json_codec.loads, body, refuse)
    expected = outcome(json_codec.stdlib_loads, body, refuse)
    assert got[0] == expected[0], (got, expected)
    if got[0] == "value":
        assert same_json(got[1], expected[1])
    else:
        assert got[1:] == expected[1:]


@needs_orjson
def test_orjson_reads_the_usual_request_itself():
    body = json.dumps({"query": {"user": "u1", "apps": ["1", "2"]},
                       "candidates": {"item": [str(i) for i in range(100)]},
                       "top_k": 10}).encode()
    assert json_codec._orjson_reads_alike(body)
    for case in ("beyond u64", "depth 513", "many shallow rows", "digits inside strings"):
        assert not json_codec._orjson_reads_alike(HOSTILE[case]), case


@needs_orjson
def test_random_numbers_decode_to_the_same_doubles_and_integers():
    rng = np.random.default_rng(0)
    texts = []
    for _ in range(20_000):
        digits = "".join(rng.choice(list("0123456789"), size=rng.integers(1, 19)))
        kind = rng.integers(0, 4)
        if kind == 0:
            text = digits.lstrip("0") or "0"
        elif kind == 1:
            point = rng.integers(0, len(digits))
            text = f"{digits[:point].lstrip('0') or '0'}.{digits[point:] or '0'}"
        else:
            text = f"{digits[0]}.{digits[1:] or '0'}e{int(rng.integers(-330, 310))}"
        texts.append(("-" if rng.random() < 0.3 else "") + text)
    texts += [repr(float(x)) for x in rng.standard_normal(2000) * 10.0 ** rng.integers(
        -300, 300, 2000)]
    body = ("[" + ", ".join(texts) + "]").encode()
    got, expected = json_codec.loads(body, refuse), json_codec.stdlib_loads(body, refuse)
    mismatches = [t for t, a, b in zip(texts, got, expected) if not same_json(a, b)]
    assert not mismatches, mismatches[:5]


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_parse_json_answers_the_same_with_and_without_orjson(monkeypatch, case):
    def parsed():
        try:
            return ("value", parse_json(HOSTILE[case]))
        except RequestError as error:
            return ("error", error.status, error.message, error.field)

    with_orjson = parsed()
    monkeypatch.setattr(json_codec, "orjson", None)
    without = parsed()
    assert with_orjson[0] == without[0]
    if with_orjson[0] == "value":
        assert same_json(with_orjson[1], without[1])
    else:
        assert with_orjson[1:] == without[1:]
        assert with_orjson[1] == 400


def test_nan_and_infinity_are_refused_naming_null():
    for body in (b'{"a": NaN}', b'{"a": -Infinity}'):
        with pytest.raises(RequestError) as error:
            parse_json(body)
        assert error.value.status == 400 and "use null" in error.value.message


ANSWERS = {
    "rank": {"model_version": 3, "n_candidates": 100, "ranked": [
        {"index": i, "score": float(s), "probability": 1 / (1 + math.exp(-s))}
        for i, s in enumerate(np.random.default_rng(1).standard_normal(10) * 7)]},
    "awkward floats": [1e-7, 1e16, 1e22, 5e-324, 1.7976931348623157e308, -0.0, 0.1, 1 / 3,
                       123456789.125, 2.0 ** 53 + 2],
    "null scores": {"predictions": [None, 0.5, None]},
    "unicode": {"error": "unknown column '名前'", "field": "query.名前", "emoji": "😀"},
    "control characters": {"error": "a\x00b\x1f\n\t\"\\"},
    "big integer": {"n": 2 ** 70, "negative": -(2 ** 65)},
    "integer keys": {1: "a", 2: [True, False, None]},
    "tuple": {"sizes": (1, 2, 3)},
    "lone surrogate": {"error": "unknown column '\\ud800'", "field": "query.\ud800"},
    "nested": {"a": [[{"b": [1, 2.5, "c"]}]]},
}


@pytest.mark.parametrize("case", sorted(ANSWERS))
def test_answers_encode_to_the_same_json_values_with_and_without_orjson(case):
    answer = ANSWERS[case]
    got, expected = json_codec.dumps(answer), json_codec.stdlib_dumps(answer)
    assert isinstance(got, bytes) and isinstance(expected, bytes)
    assert same_json(json.loads(got), json.loads(expected))
    assert same_json(json.loads(got), json.loads(json.dumps(answer)))


def test_a_lone_surrogate_answer_is_ascii_json_with_escapes():
    written = json_codec.dumps(ANSWERS["lone surrogate"])
    assert written.isascii() and b"\\ud800" in written
    assert json.loads(written)["field"] == "query.\ud800"


def test_non_ascii_answers_are_utf8_not_escaped():
    written = json_codec.dumps(ANSWERS["unicode"])
    assert "名前".encode() in written and b"\\u" not in written


@pytest.mark.parametrize("bad", [{"x": np.float32(1.5)}, {"x": {1, 2}}, {"x": float("nan")}])
def test_what_json_refuses_is_refused_with_and_without_orjson(bad):
    if isinstance(bad["x"], float):   # answers never hold NaN: json refuses, orjson nulls
        with pytest.raises(ValueError):
            json_codec.stdlib_dumps(bad)
        return
    with pytest.raises(TypeError) as expected:
        json_codec.stdlib_dumps(bad)
    with pytest.raises(TypeError) as got:
        json_codec.dumps(bad)
    assert str(got.value) == str(expected.value)
