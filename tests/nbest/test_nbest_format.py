"""Tests for espnet_kd.nbest.format: nbest.jsonl and ESPnet-style rank dirs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from espnet_kd.nbest.format import (
    NBestEntry,
    NBestFormatError,
    read_nbest_jsonl,
    read_token_list,
    write_espnet_nbest_dirs,
    write_nbest_jsonl,
)

TOKENS = ["<blank>", "<unk>", "hello", "world", "good", "bye", "<sos/eos>"]

FULL = NBestEntry(
    utt="spkB-u1",
    rank=1,
    text="hello world",
    token_int=[2, 3],
    score=-3.5,
    logp=-2.75,
    token_logp=[-1.25, -1.5],
    scores={"decoder": -2.75, "ctc": -4.0, "length_bonus": 2.0},
)


def entries_unsorted() -> list:
    return [
        NBestEntry("spkB-u1", 2, "hello", [2], -4.0),
        FULL,
        NBestEntry("spkA-u1", 1, "", [], -9.0),
        NBestEntry("spkA_u0", 1, "good bye", [4, 5], -1.0),
        NBestEntry("spkA-u10", 1, "bye", [5], -2.0),
    ]


def write_lines(path: Path, objs: list) -> Path:
    path.write_text("".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs))
    return path


def as_json(entry: NBestEntry) -> dict:
    return entry.to_json_dict()


def test_json_fields_in_documented_order() -> None:
    assert list(FULL.to_json_dict()) == [
        "utt",
        "rank",
        "text",
        "token_int",
        "score",
        "logp",
        "token_logp",
        "scores",
        "ended",
    ]


def test_write_orders_by_c_locale_utt_then_rank(tmp_path: Path) -> None:
    path = tmp_path / "nbest.jsonl"
    write_nbest_jsonl(path, entries_unsorted())
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(o["utt"], o["rank"]) for o in lines] == [
        ("spkA-u1", 1),
        ("spkA-u10", 1),
        ("spkA_u0", 1),
        ("spkB-u1", 1),
        ("spkB-u1", 2),
    ]
    assert lines[3] == {
        "utt": "spkB-u1",
        "rank": 1,
        "text": "hello world",
        "token_int": [2, 3],
        "score": -3.5,
        "logp": -2.75,
        "token_logp": [-1.25, -1.5],
        "scores": {"decoder": -2.75, "ctc": -4.0, "length_bonus": 2.0},
        "ended": True,
    }
    assert lines[0]["logp"] is None and lines[0]["token_logp"] is None and lines[0]["scores"] == {}


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "nbest.jsonl"
    write_nbest_jsonl(path, entries_unsorted())
    nbest = read_nbest_jsonl(path)
    assert list(nbest) == ["spkA-u1", "spkA-u10", "spkA_u0", "spkB-u1"]
    assert nbest["spkB-u1"] == [FULL, NBestEntry("spkB-u1", 2, "hello", [2], -4.0)]
    assert nbest["spkA-u1"] == [NBestEntry("spkA-u1", 1, "", [], -9.0)]


def test_read_sorts_ranks_and_skips_blank_lines(tmp_path: Path) -> None:
    a2 = as_json(NBestEntry("u", 2, "b", [1], -2.0))
    a1 = as_json(NBestEntry("u", 1, "a", [0], -1.0))
    nbest = read_nbest_jsonl(write_lines(tmp_path / "n.jsonl", [a2, "", a1]))
    assert [e.rank for e in nbest["u"]] == [1, 2]
    assert isinstance(nbest["u"][0].score, float)


def test_unicode_text(tmp_path: Path) -> None:
    path = tmp_path / "nbest.jsonl"
    write_nbest_jsonl(path, [NBestEntry("u", 1, "perché sì", [1], -1.0)])
    assert "perché sì" in path.read_text(encoding="utf-8")
    assert read_nbest_jsonl(path)["u"][0].text == "perché sì"


def test_write_is_atomic_on_invalid_input(tmp_path: Path) -> None:
    path = tmp_path / "nbest.jsonl"
    path.write_text("old\n")
    with pytest.raises(NBestFormatError, match="duplicate hypothesis for utt u rank 1"):
        write_nbest_jsonl(
            path, [NBestEntry("u", 1, "a", [], 0.0), NBestEntry("u", 1, "b", [], 0.0)]
        )
    assert path.read_text() == "old\n"


def test_write_rejects_rank_gap(tmp_path: Path) -> None:
    with pytest.raises(NBestFormatError, match=r"ranks of utt u are \[1, 3\], expected 1..2"):
        write_nbest_jsonl(
            tmp_path / "n.jsonl",
            [NBestEntry("u", 1, "a", [], 0.0), NBestEntry("u", 3, "b", [], 0.0)],
        )


def test_bad_json_line_names_file_and_line(tmp_path: Path) -> None:
    good = as_json(NBestEntry("u", 1, "a", [1], -1.0))
    path = write_lines(tmp_path / "n.jsonl", [good, '{"utt": "v", "rank": 1,'])
    with pytest.raises(NBestFormatError, match=r"n\.jsonl:2: not a JSON object"):
        read_nbest_jsonl(path)


def test_non_object_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "n.jsonl", ["[1, 2]"])
    with pytest.raises(NBestFormatError, match=r"n\.jsonl:1: expected a JSON object, got list"):
        read_nbest_jsonl(path)


def test_missing_field(tmp_path: Path) -> None:
    obj = as_json(NBestEntry("u", 1, "a", [1], -1.0))
    del obj["score"], obj["scores"]
    path = write_lines(tmp_path / "n.jsonl", [obj])
    with pytest.raises(NBestFormatError, match=r"n\.jsonl:1: missing field\(s\) score, scores"):
        read_nbest_jsonl(path)


def test_unknown_field(tmp_path: Path) -> None:
    obj = dict(as_json(NBestEntry("u", 1, "a", [1], -1.0)), sccore=1)
    path = write_lines(tmp_path / "n.jsonl", [obj])
    with pytest.raises(NBestFormatError, match=r"n\.jsonl:1: unknown field\(s\) sccore"):
        read_nbest_jsonl(path)


@pytest.mark.parametrize(
    "field_name, value, message",
    [
        ("rank", "1", "field rank must hold integers"),
        ("rank", 1.0, "field rank must hold integers"),
        ("rank", 0, "rank must be >= 1"),
        ("token_int", [1, "2"], "field token_int must hold integers"),
        ("token_int", "1 2", "field token_int must be a list"),
        ("score", None, "field score must hold numbers"),
        ("score", True, "field score must hold numbers"),
        ("text", None, "field text must be a string"),
        ("utt", "a b", "utt must be a non-empty id without whitespace"),
        ("token_logp", [-1.0, -2.0], "2 token_logp values for 1 tokens"),
        ("scores", [1], "field scores must be an object"),
        ("scores", {"ctc": "x"}, "field scores.ctc must hold numbers"),
    ],
)
def test_mistyped_field(tmp_path: Path, field_name: str, value: object, message: str) -> None:
    obj = as_json(NBestEntry("u", 1, "a", [1], -1.0))
    obj[field_name] = value
    path = write_lines(tmp_path / "n.jsonl", [obj])
    with pytest.raises(NBestFormatError, match=rf"n\.jsonl:1: .*{message}"):
        read_nbest_jsonl(path)


def test_duplicate_utt_rank_names_both_lines(tmp_path: Path) -> None:
    obj = as_json(NBestEntry("u", 1, "a", [1], -1.0))
    other = as_json(NBestEntry("v", 1, "a", [1], -1.0))
    path = write_lines(tmp_path / "n.jsonl", [obj, other, obj])
    with pytest.raises(
        NBestFormatError,
        match=r"n\.jsonl:3: duplicate hypothesis for utt u rank 1 \(first at line 1\)",
    ):
        read_nbest_jsonl(path)


def test_ranks_not_one_to_n(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "n.jsonl", [as_json(NBestEntry("u", 2, "a", [1], -1.0))])
    with pytest.raises(NBestFormatError, match=r"ranks of utt u are \[2\], expected 1..1"):
        read_nbest_jsonl(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NBestFormatError, match="file not found"):
        read_nbest_jsonl(tmp_path / "nope.jsonl")


def test_token_list(tmp_path: Path) -> None:
    path = tmp_path / "tokens.txt"
    path.write_text("".join(t + "\n" for t in TOKENS))
    assert read_token_list(path) == TOKENS
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(NBestFormatError, match="token list is empty"):
        read_token_list(tmp_path / "empty.txt")
    with pytest.raises(NBestFormatError, match="token list not found"):
        read_token_list(tmp_path / "nope.txt")


def test_write_espnet_nbest_dirs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    rank_dirs = write_espnet_nbest_dirs(out, entries_unsorted(), TOKENS)
    assert rank_dirs == [out / "1best_recog", out / "2best_recog"]
    one = out / "1best_recog"
    assert (one / "text").read_text() == (
        "spkA-u1 \nspkA-u10 bye\nspkA_u0 good bye\nspkB-u1 hello world\n"
    )
    assert (one / "token").read_text() == (
        "spkA-u1 \nspkA-u10 bye\nspkA_u0 good bye\nspkB-u1 hello world\n"
    )
    assert (one / "token_int").read_text() == "spkA-u1 \nspkA-u10 5\nspkA_u0 4 5\nspkB-u1 2 3\n"
    assert (
        one / "score"
    ).read_text() == "spkA-u1 -9.0\nspkA-u10 -2.0\nspkA_u0 -1.0\nspkB-u1 -3.5\n"
    two = out / "2best_recog"
    assert sorted(p.name for p in two.iterdir()) == ["score", "text", "token", "token_int"]
    assert (two / "score").read_text() == "spkB-u1 -4.0\n"
    assert (two / "token").read_text() == "spkB-u1 hello\n"


def test_write_espnet_dirs_without_token_list_and_stale_ranks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "3best_recog").mkdir(parents=True)
    (out / "3best_recog" / "text").write_text("stale x\n")
    (out / "logdir").mkdir()
    write_espnet_nbest_dirs(out, entries_unsorted())
    assert sorted(p.name for p in out.iterdir()) == ["1best_recog", "2best_recog", "logdir"]
    assert sorted(p.name for p in (out / "1best_recog").iterdir()) == ["score", "text", "token_int"]


def test_plain_float_scores_round_trip_exactly(tmp_path: Path) -> None:
    score = -22.300199508666992
    write_espnet_nbest_dirs(tmp_path, [NBestEntry("u", 1, "a", [2], score)])
    assert float((tmp_path / "1best_recog" / "score").read_text().split()[1]) == score


def test_token_out_of_range(tmp_path: Path) -> None:
    with pytest.raises(
        NBestFormatError,
        match=r"utt u rank 2: token id\(s\) \[9\] outside the token list \(7 tokens\)",
    ):
        write_espnet_nbest_dirs(
            tmp_path,
            [NBestEntry("a", 1, "x", [2], -1.0), NBestEntry("u", 1, "a", [2], -1.0)]
            + [NBestEntry("u", 2, "a", [2, 9], -1.0)],
            TOKENS,
        )
    assert list(tmp_path.iterdir()) == []  # nothing written when any rank is invalid


def test_ended_is_optional_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "nbest.jsonl"
    record = FULL.to_json_dict()
    del record["ended"]
    not_ended = dict(FULL.to_json_dict(), rank=2, ended=False)
    path.write_text(json.dumps(record) + "\n" + json.dumps(not_ended) + "\n")
    read = read_nbest_jsonl(path)["spkB-u1"]
    assert [entry.ended for entry in read] == [True, False]
    path.write_text(json.dumps(dict(record, ended="no")) + "\n")
    with pytest.raises(NBestFormatError, match=r"nbest.jsonl:1: field ended must be true or false"):
        read_nbest_jsonl(path)
