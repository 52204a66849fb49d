"""Held-out teachers (espnet_kd.utils.folds, espnet_kd.bin.folds): the fold split, and the folds' n-best lists
and top-k caches joined into one, against hand-made folds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest

from espnet_kd.bin import folds as folds_cli
from espnet_kd.kd.topk_cache import META_NAME, TopKCache, TopKCacheMeta, write_shard
from espnet_kd.nbest.format import NBestEntry, read_nbest_jsonl, write_nbest_jsonl
from espnet_kd.utils.folds import (
    FOLDS_NAME,
    FoldError,
    assign_folds,
    fold_dir,
    merge_fold_nbest,
    merge_fold_topk,
    split_folds,
)
from espnet_kd.utils.kaldi_dir import KaldiDataDir, read_table

# seven utterances of two speakers; C-locale order: a-1, a-2, a-3, a-4, b-1, b-2, b-3
UTTS = ["b-2", "a-1", "a-3", "b-1", "a-2", "b-3", "a-4"]
SORTED = ["a-1", "a-2", "a-3", "a-4", "b-1", "b-2", "b-3"]


@pytest.fixture
def train_dir(tmp_path: Path) -> Path:
    """A Kaldi data dir of :data:`UTTS` with a translation, a transcript and lengths."""
    data = KaldiDataDir(wav_scp={u: f"/audio/{u}.wav" for u in UTTS}, utt2spk={u: u[0] for u in UTTS},
                        texts={"text": {u: f"traduzione {u}" for u in UTTS},
                               "text.en": {u: f"transcript {u}" for u in UTTS}},
                        extra={"utt2num_samples": {u: str(1000 + i) for i, u in enumerate(UTTS)}})
    data.write(tmp_path / "train")
    return tmp_path / "train"


def test_assign_folds_by_position_in_c_locale_order() -> None:
    # by hand: a-1 → 1, a-2 → 2, a-3 → 3, a-4 → 1, b-1 → 2, b-2 → 3, b-3 → 1
    assert assign_folds(UTTS, 3) == {"a-1": 1, "a-2": 2, "a-3": 3, "a-4": 1, "b-1": 2, "b-2": 3, "b-3": 1}
    with pytest.raises(FoldError, match="at least 2"):
        assign_folds(UTTS, 1)
    with pytest.raises(FoldError, match="8 folds of 7 utterances"):
        assign_folds(UTTS, 8)


def test_split_writes_disjoint_heldout_parts_and_their_complements(train_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "train_folds3"
    record = split_folds(train_dir, 3, out)
    assert record["heldout_utterances"] == [3, 2, 2] and record["utterances"] == 7
    assert json.loads((out / FOLDS_NAME).read_text())["num_folds"] == 3
    expected_heldout = {1: ["a-1", "a-4", "b-3"], 2: ["a-2", "b-1"], 3: ["a-3", "b-2"]}
    for fold, heldout in expected_heldout.items():
        held = KaldiDataDir.load(fold_dir(out, fold, "heldout"))
        rest = KaldiDataDir.load(fold_dir(out, fold, "rest"))
        assert held.utt_ids == heldout
        assert rest.utt_ids == [u for u in SORTED if u not in heldout]
        for part in (held, rest):   # every table filtered, values untouched
            for utt in part.utt_ids:
                assert part.texts["text.en"][utt] == f"transcript {utt}"
                assert part.extra["utt2num_samples"][utt] == str(1000 + UTTS.index(utt))
        assert read_table(fold_dir(out, fold, "heldout") / "spk2utt")["a"].split() == [u for u in heldout if u[0] == "a"]
    # splitting again replaces the old folds, leaving no temporary dir
    split_folds(train_dir, 2, out)
    assert sorted(p.name for p in out.iterdir()) == ["fold1", "fold2", FOLDS_NAME]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith((".", "train_folds3."))] == []


def entry(utt: str, rank: int, text: str) -> NBestEntry:
    return NBestEntry(utt=utt, rank=rank, text=text, token_int=[1, 2], score=-1.0 * rank, logp=-0.5)


def write_fold_nbest(directory: Path, utts: List[str], model: str, options: Dict[str, object],
                     no_hypothesis: List[str] = ()) -> Path:
    """A fold's n-best output dir: two hypotheses per utterance, and its summary.json."""
    directory.mkdir(parents=True)
    write_nbest_jsonl(directory / "nbest.jsonl",
                      [entry(u, r, f"{model} {u} {r}") for u in utts if u not in no_hypothesis for r in (1, 2)])
    summary = {"utterances": len(utts), "hypotheses": 2 * len(utts), "no_hypothesis": list(no_hypothesis),
               "not_ended": [], "empty_hypotheses": [], "options": options, "model": {"sha256": model}}
    (directory / "summary.json").write_text(json.dumps(summary))
    return directory


TOKENS = ["<blank>", "a", "b", "<sos/eos>"]


def test_merge_nbest_joins_the_folds_in_data_order_and_names_each_teacher(train_dir: Path, tmp_path: Path) -> None:
    options = {"beam_size": 8}
    fold1 = write_fold_nbest(tmp_path / "f1", ["a-1", "a-3", "b-2", "b-3"], "teacher1", options, no_hypothesis=["b-3"])
    fold2 = write_fold_nbest(tmp_path / "f2", ["a-2", "a-4", "b-1"], "teacher2", options)
    summary = merge_fold_nbest([fold1, fold2], train_dir, tmp_path / "joined", TOKENS)
    joined = read_nbest_jsonl(tmp_path / "joined" / "nbest.jsonl")
    assert list(joined) == ["a-1", "a-2", "a-3", "a-4", "b-1", "b-2"]   # b-3: no hypothesis in fold 1
    assert joined["a-4"][1].text == "teacher2 a-4 2" and joined["b-2"][0].text == "teacher1 b-2 1"
    assert summary["fold_models"] == [{"sha256": "teacher1"}, {"sha256": "teacher2"}]
    assert summary["options"] == options and summary["no_hypothesis"] == ["b-3"] and summary["utterances"] == 7
    assert "model" not in summary   # no single teacher made the joined list
    assert (tmp_path / "joined" / "1best_recog" / "text").is_file()


def test_merge_nbest_refuses_overlap_gaps_and_other_options(train_dir: Path, tmp_path: Path) -> None:
    fold1 = write_fold_nbest(tmp_path / "f1", ["a-1", "a-2", "a-3", "b-2"], "t1", {"beam_size": 8})
    overlap = write_fold_nbest(tmp_path / "f2", ["a-2", "a-4", "b-1", "b-3"], "t2", {"beam_size": 8})
    with pytest.raises(FoldError, match="a-2 is in fold 1 and fold 2"):
        merge_fold_nbest([fold1, overlap], train_dir, tmp_path / "out", TOKENS)
    gap = write_fold_nbest(tmp_path / "f3", ["a-4", "b-1"], "t2", {"beam_size": 8})
    with pytest.raises(FoldError, match=r"miss 1 utterance\(s\) of the data dir \(e.g. \['b-3'\]\)"):
        merge_fold_nbest([fold1, gap], train_dir, tmp_path / "out", TOKENS)
    other = write_fold_nbest(tmp_path / "f4", ["a-4", "b-1", "b-3"], "t2", {"beam_size": 4})
    with pytest.raises(FoldError, match="different options"):
        merge_fold_nbest([fold1, other], train_dir, tmp_path / "out", TOKENS)
    with pytest.raises(FoldError, match="has not labelled"):
        merge_fold_nbest([fold1, tmp_path / "missing"], train_dir, tmp_path / "out", TOKENS)
    assert not (tmp_path / "out" / "nbest.jsonl").exists()


def write_fold_cache(directory: Path, utts: List[str], teacher: str, k: int = 3, seed: int = 0) -> Dict[str, tuple]:
    """A complete top-k cache of ``utts`` in two shards; returns what ``TopKCache`` reads back per utterance."""
    rng = np.random.default_rng(seed)
    meta = TopKCacheMeta(k=k, temperature=1.0, teacher_kind="mt", teacher_sha256=teacher * 64,
                         teacher_model_file=f"exp/{teacher}/valid.acc.ave.pth", token_list_hash="c" * 64,
                         vocab_size=40, num_shards=2, num_utts=len(utts))
    shards: List[list] = [[], []]
    for index, utt in enumerate(utts):
        positions = 2 + index
        ids = rng.integers(0, 40, size=(positions, k))
        logp = np.sort(np.log(rng.dirichlet(np.ones(k), size=positions)), axis=1)[:, ::-1].copy()
        shards[index % 2].append((utt, ids, logp))
    directory.mkdir(parents=True)
    for shard, utterances in enumerate(shards):
        write_shard(directory, shard, utterances, meta)
    meta.write(directory / META_NAME)
    cache = TopKCache(directory)
    return {utt: cache[utt] for utt in utts}


def test_merge_topk_reads_back_every_folds_positions_exactly(train_dir: Path, tmp_path: Path) -> None:
    stored1 = write_fold_cache(tmp_path / "c1", ["a-1", "a-4", "b-3"], "1", seed=1)
    stored2 = write_fold_cache(tmp_path / "c2", ["a-2", "a-3", "b-1", "b-2"], "2", seed=2)
    meta = merge_fold_topk([tmp_path / "c1", tmp_path / "c2"], train_dir, tmp_path / "joined")
    joined = TopKCache(tmp_path / "joined")
    assert sorted(joined) == SORTED and meta.num_shards == 4 and joined.meta.num_utts == 7
    for utt, (ids, logp) in {**stored1, **stored2}.items():
        joined_ids, joined_logp = joined[utt]
        np.testing.assert_array_equal(joined_ids, ids)
        np.testing.assert_array_equal(joined_logp, logp)
    teachers = joined.meta.extra["fold_teachers"]
    assert [t["teacher_sha256"] for t in teachers] == ["1" * 64, "2" * 64]
    assert joined.meta.teacher_sha256 not in ("1" * 64, "2" * 64)


def test_merge_topk_refuses_caches_of_other_settings_or_overlapping(train_dir: Path, tmp_path: Path) -> None:
    write_fold_cache(tmp_path / "c1", ["a-1", "a-4", "b-3"], "1")
    write_fold_cache(tmp_path / "k4", ["a-2", "a-3", "b-1", "b-2"], "2", k=4)
    with pytest.raises(FoldError, match="differ in k"):
        merge_fold_topk([tmp_path / "c1", tmp_path / "k4"], train_dir, tmp_path / "out")
    write_fold_cache(tmp_path / "dup", ["a-1", "a-2", "a-3", "b-1", "b-2"], "2")
    with pytest.raises(FoldError, match="a-1 is in fold 1 and fold 2"):
        merge_fold_topk([tmp_path / "c1", tmp_path / "dup"], train_dir, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_splits_and_reports_bad_input(train_dir: Path, tmp_path: Path, capsys) -> None:
    folds_cli.main(["split", "--data_dir", str(train_dir), "--num_folds", "2", "--out_dir", str(tmp_path / "f")])
    assert KaldiDataDir.load(fold_dir(tmp_path / "f", 2, "heldout")).utt_ids == ["a-2", "a-4", "b-2"]
    with pytest.raises(SystemExit) as exit_info:
        folds_cli.main(["split", "--data_dir", str(train_dir), "--num_folds", "1", "--out_dir", str(tmp_path / "g")])
    assert exit_info.value.code == 1
    assert "ERROR: folds: --num_folds must be at least 2, not 1" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()
