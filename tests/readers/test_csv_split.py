import csv
import io

import numpy as np

from widedeep.readers._csv_split import (split_csv_block, split_plain_block, splits_plainly,
                                         text_blocks)

NAMES = ["a", "b", "c"]


def _plain(block, positions=(0, 1, 2), first_line=1):
    return split_plain_block(block, first_line, len(NAMES), list(positions), ",", "f.csv",
                             NAMES)


def test_text_blocks_end_at_line_ends_and_keep_every_character():
    text = "".join(f"{i},{'x' * (i % 13)}\r\n" for i in range(200)) + "last"
    blocks = list(text_blocks(io.StringIO(text, newline=""), block_chars=25))
    assert "".join(blocks) == text
    assert all(block.endswith("\n") for block in blocks[:-1])
    assert max(len(block) for block in blocks) <= 25 + len("199,xxxxxxxxxxxx\r\n")


def test_plain_split_gives_the_csv_module_fields_and_lines():
    block = "1,x,é\n\n2,,\n3,y\n4,5,6,7\n8,z,w"
    fields = _plain(block, first_line=10)
    assert fields.lines.tolist() == [10, 12, 15]
    assert fields.n_lines == 6
    assert [fields.texts[k].tolist() for k in (0, 1, 2)] == [["1", "2", "8"], ["x", "", "z"],
                                                              ["é", "", "w"]]
    assert [(b.line, b.column, b.field) for b in fields.bad_lines] == [(13, "c", 3),
                                                                       (14, None, 4)]


def test_plain_split_of_ascii_gives_bytes_and_extracts_only_wanted_columns():
    fields = _plain("1,x,yy\n2,zzz,w\n", positions=[2])
    assert list(fields.texts) == [2]
    assert fields.texts[2].dtype.kind == "S" and fields.texts[2].tolist() == [b"yy", b"w"]


def test_blocks_with_quotes_or_bare_cr_are_not_plain():
    assert splits_plainly("a,b\r\nc,d\r\n", '"')
    assert not splits_plainly('a,"b"\n', '"')
    assert splits_plainly('a,"b"\n', None)
    assert not splits_plainly("a,b\rc,d\n", '"')
    assert not splits_plainly("a,\x00\n", '"')


def test_csv_block_finishes_a_quoted_record_from_the_handle():
    rest = io.StringIO('still quoted",2\n3,4,5\n', newline="")
    block = '1,"open\n'
    fields = split_csv_block(block, 7, rest, {"delimiter": ","}, [1, 2], "f.csv", NAMES)
    assert fields.lines.tolist() == [7]
    assert fields.texts[1].tolist() == ["open\nstill quoted"]
    assert fields.n_lines == 2
    assert rest.readline() == "3,4,5\n"  # the next record is left for the next block


def test_plain_and_csv_module_splitting_agree_on_random_unquoted_text():
    rng = np.random.default_rng(1)
    cells = ["", "x", "long cell", "ü", "42", " "]
    lines = [",".join(cells[k] for k in rng.integers(len(cells), size=rng.integers(1, 5)))
             for _ in range(300)]
    block = "\n".join(lines) + "\n"
    plain = _plain(block)
    by_csv = split_csv_block(block, 1, io.StringIO(""), {"delimiter": ","}, [0, 1, 2],
                             "f.csv", NAMES)
    assert plain.lines.tolist() == by_csv.lines.tolist()
    for k in range(3):
        decoded = [c.decode() if isinstance(c, bytes) else c for c in plain.texts[k].tolist()]
        assert decoded == by_csv.texts[k].tolist()
    assert [str(b) for b in plain.bad_lines] == [str(b) for b in by_csv.bad_lines]
    assert len(plain.lines) == sum(1 for row in csv.reader(io.StringIO(block)) if len(row) == 3)
