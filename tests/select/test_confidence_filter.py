"""The confidence filter (espnet_kd.select.confidence_filter): API, runner and command line.

A hand-made n-best list with teacher log-probs; the length-normalised log-prob
(logp / number of tokens) of each hypothesis:

- ``spkA-u1``: 1 "a b" (-1.0 / 2 = -0.5), 2 "a c" (-3.0 / 2 = -1.5)
- ``spkA-u2``: 1 "d" (-2.0 / 1 = -2.0)
- ``spkB-u1``: 1 "e f g" (-0.3 / 3 = -0.1)
- ``spkB-u2``: 1 "h" (-0.5 / 1 = -0.5: the same as spkA-u1's rank 1)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Dict, List, Sequence

import pytest

from espnet_kd.bin.select import main
from espnet_kd.nbest.format import NBestEntry, write_nbest_jsonl
from espnet_kd.select import SelectorError, build_selector
from espnet_kd.select.abs_selector import Selected
from espnet_kd.select.confidence_filter import (
    ConfidenceFilter,
    apply_confidence_filter,
    keep_count,
    optional_number,
)
from espnet_kd.select.runner import SelectionInputError, run_selection
from espnet_kd.utils.kaldi_dir import KaldiDataDir, read_table, write_table

UTTS = ["spkA-u1", "spkA-u2", "spkB-u1", "spkB-u2"]
HYPS = {  # text, total logp, number of tokens
    "spkA-u1": [("a b", -1.0, 2), ("a c", -3.0, 2)],
    "spkA-u2": [("d", -2.0, 1)],
    "spkB-u1": [("e f g", -0.3, 3)],
    "spkB-u2": [("h", -0.5, 1)],
}


def make_nbest(with_logp: bool = True, empty_first: Sequence[str] = ()) -> Dict[str, List[NBestEntry]]:
    """The n-best list above (``empty_first``: those utterances' rank 1 an empty hypothesis instead)."""
    nbest = {}
    for utt, hyps in HYPS.items():
        entries = []
        for rank, (text, logp, tokens) in enumerate(hyps, start=1):
            text = "" if rank == 1 and utt in empty_first else text
            entries.append(NBestEntry(utt, rank, text, list(range(tokens)), 2 * logp,
                                      logp=logp if with_logp else None))
        nbest[utt] = entries
    return nbest


def make_dir(root: Path, with_text: bool) -> Path:
    write_table(root / "wav.scp", {utt: f"/audio/{utt}.wav" for utt in UTTS})
    write_table(root / "utt2spk", {utt: utt.split("-")[0] for utt in UTTS})
    if with_text:
        write_table(root / "text", {utt: f"ref {utt}" for utt in UTTS})
    return root


def select(method: str, confidence_filter: ConfidenceFilter, tmp_path: Path, with_text: bool = False,
           nbest=None, **options):
    data = KaldiDataDir.load(make_dir(tmp_path / "data", with_text), text="optional")
    return run_selection(build_selector(method, **options), nbest or make_nbest(), data,
                         reference_name="text" if with_text else None, confidence_filter=confidence_filter)


def test_keep_fraction_keeps_ties_at_the_threshold(tmp_path: Path) -> None:
    # 1best confidences -0.5, -2.0, -0.1, -0.5; ceil(0.5 * 4) = 2: the 2nd best, -0.5, is the threshold
    result = select("1best", ConfidenceFilter("logp", keep_fraction=0.5), tmp_path)
    assert [label.utt for label in result.selections] == ["spkA-u1", "spkB-u1", "spkB-u2"]
    assert result.reasons == {"confidence_dropped": 1}
    assert result.confidence == {"measure": "logp", "min": None, "keep_fraction": 0.5, "threshold": -0.5,
                                 "labels": 4, "judged": 4, "kept": 3, "dropped": 1}


@pytest.mark.parametrize("confidence_filter, kept, threshold", [
    (ConfidenceFilter("logp", min_value=-0.4), ["spkB-u1"], -0.4),
    (ConfidenceFilter("logp", min_value=-0.5), ["spkA-u1", "spkB-u1", "spkB-u2"], -0.5),   # inclusive
    # both: the larger threshold (ceil(0.25 * 4) = 1: the best one, -0.1)
    (ConfidenceFilter("logp", min_value=-1.0, keep_fraction=0.25), ["spkB-u1"], -0.1),
    (ConfidenceFilter("logp", min_value=-1.0, keep_fraction=1.0), ["spkA-u1", "spkB-u1", "spkB-u2"], -1.0),
])
def test_thresholds(tmp_path: Path, confidence_filter, kept, threshold) -> None:
    result = select("1best", confidence_filter, tmp_path)
    assert [label.utt for label in result.selections] == kept
    assert result.confidence["threshold"] == pytest.approx(threshold)
    assert result.confidence["dropped"] == 4 - len(kept)


def test_topk_labels_are_judged_by_their_own_hypothesis_and_weights_rescaled(tmp_path: Path) -> None:
    # labels -0.5 (u1 nb1), -1.5 (u1 nb2), -2.0, -0.1, -0.5; ceil(0.6 * 5) = 3: the 3rd best is -0.5
    result = select("topk:2", ConfidenceFilter("logp", keep_fraction=0.6), tmp_path, weights="softmax")
    assert [label.utt for label in result.selections] == ["spkA-u1-nb1", "spkB-u1-nb1", "spkB-u2-nb1"]
    assert result.confidence["threshold"] == -0.5 and result.reasons == {"confidence_dropped": 2}
    assert [label.weight for label in result.selections] == pytest.approx([1.0, 1.0, 1.0])
    # without the filter spkA-u1's rank 1 has the softmax weight of scores -2, -6
    unfiltered = select("topk:2", ConfidenceFilter(), tmp_path / "plain", weights="softmax")
    assert unfiltered.selections[0].weight == pytest.approx(1 / (1 + math.exp(-4)))
    assert unfiltered.confidence is None


def test_qe_confidence_is_the_qe_score_of_the_chosen_hypothesis(tmp_path: Path) -> None:
    # qe:logp ranks by the same values: the picks are the rank-1 hypotheses, as 1best's
    result = select("qe:logp", ConfidenceFilter("qe", min_value=-0.5), tmp_path)
    assert [label.utt for label in result.selections] == ["spkA-u1", "spkB-u1", "spkB-u2"]
    with pytest.raises(SelectorError, match=r"--confidence qe needs the QE score of a method that computes "
                                            r"one \(qe:\{logp,backward,combined\}\); method 1best has none"):
        select("1best", ConfidenceFilter("qe", min_value=-0.5), tmp_path / "other")


def test_logp_confidence_needs_log_probs(tmp_path: Path) -> None:
    with pytest.raises(SelectorError, match="--confidence logp: utt spkA-u1 rank 1 has no teacher log-prob"):
        select("1best", ConfidenceFilter("logp", min_value=-1.0), tmp_path, nbest=make_nbest(with_logp=False))


def test_with_references_a_label_that_is_the_reference_is_not_judged(tmp_path: Path) -> None:
    # spkA-u2's rank 1 is empty: replaced by its reference, kept unjudged; the others: -0.5, -0.1, -0.5
    nbest = make_nbest(empty_first=["spkA-u2"])
    result = select("1best", ConfidenceFilter("logp", min_value=-0.3), tmp_path, with_text=True, nbest=nbest)
    assert [(label.utt, label.origin) for label in result.selections] == [
        ("spkA-u2", "reference"), ("spkB-u1", "hypothesis")]
    assert result.confidence["judged"] == 3 and result.confidence["labels"] == 4
    assert result.confidence["kept"] == 1 and result.confidence["dropped"] == 2


def test_keep_count_and_nan() -> None:
    assert keep_count(10, 0.7) == 7 and keep_count(10, 0.1) == 1 and keep_count(3, 1.0) == 3
    assert keep_count(3, 0.5) == 2 and keep_count(1000, 1e-6) == 1 and keep_count(0, 0.5) == 0
    labels = [Selected(f"s-{i}", "x", f"s-{i}", rank=1) for i in range(3)]
    outcome = apply_confidence_filter(ConfidenceFilter("logp", keep_fraction=1.0), labels, [math.nan, -1.0, None])
    assert [label.utt for label in outcome.kept] == ["s-1", "s-2"] and outcome.dropped == 1
    assert outcome.summary["threshold"] == -1.0
    everything_nan = apply_confidence_filter(ConfidenceFilter("logp", keep_fraction=0.5), labels[:1], [math.nan])
    assert everything_nan.kept == [] and everything_nan.summary["threshold"] is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(measure="logp"), "--confidence logp needs --confidence_min X and/or --confidence_keep_fraction F"),
    (dict(min_value=-1.0), "--confidence_min and --confidence_keep_fraction need --confidence"),
    (dict(measure="logp", keep_fraction=0.0), r"--confidence_keep_fraction must be in \(0, 1\], got 0.0"),
    (dict(measure="logp", keep_fraction=1.5), r"must be in \(0, 1\], got 1.5"),
    (dict(measure="logp", min_value=math.nan), "--confidence_min must be a number"),
    (dict(measure="bleu", min_value=1.0), "--confidence must be one of none, logp, qe"),
])
def test_bad_filters_are_refused(kwargs, message) -> None:
    with pytest.raises(SelectorError, match=message):
        ConfidenceFilter(**kwargs)


def test_optional_number() -> None:
    assert optional_number("none") is None and optional_number("") is None and optional_number("-0.25") == -0.25


# ---------------------------------------------------------------- the command line


@pytest.fixture
def unlabeled_inputs(tmp_path: Path):
    nbest_jsonl = tmp_path / "nbest" / "nbest.jsonl"
    write_nbest_jsonl(nbest_jsonl, [entry for entries in make_nbest().values() for entry in entries])
    return nbest_jsonl, make_dir(tmp_path / "unlabeled", with_text=False)


def test_cli_unlabeled_set_with_confidence(unlabeled_inputs, tmp_path: Path) -> None:
    nbest_jsonl, data_dir = unlabeled_inputs
    out = tmp_path / "unlabeled_seqkd"
    main(["--nbest_jsonl", str(nbest_jsonl), "--data_dir", str(data_dir), "--method", "1best",
          "--out_dir", str(out), "--reference_text", "none", "--confidence", "logp",
          "--confidence_keep_fraction", "0.5", "--confidence_min", "none"])
    assert read_table(out / "text") == {"spkA-u1": "a b", "spkB-u1": "e f g", "spkB-u2": "h"}
    assert sorted(read_table(out / "wav.scp")) == ["spkA-u1", "spkB-u1", "spkB-u2"]
    report = json.loads((out / "select_report.json").read_text())
    assert report["reasons"] == {"confidence_dropped": 1}
    assert report["counts"]["dropped_hypotheses"] == 1 and report["counts"]["dropped_utts"] == 1
    assert report["confidence"]["threshold"] == -0.5 and report["confidence"]["kept"] == 3
    assert report["method"]["confidence"] == {"measure": "logp", "min": None, "keep_fraction": 0.5}
    options = report["made_with"]["options"]
    assert (options["confidence"], options["confidence_min"], options["confidence_keep_fraction"]) == \
        ("logp", None, 0.5)
    assert report["references"] is None and report["wer"] is None


def test_cli_without_confidence_records_it_off(unlabeled_inputs, tmp_path: Path) -> None:
    nbest_jsonl, data_dir = unlabeled_inputs
    out = tmp_path / "plain"
    main(["--nbest_jsonl", str(nbest_jsonl), "--data_dir", str(data_dir), "--method", "topk:2",
          "--out_dir", str(out), "--reference_text", "none"])
    report = json.loads((out / "select_report.json").read_text())
    assert report["confidence"] is None and "confidence" not in report["method"]
    assert report["made_with"]["options"]["confidence"] == "none"
    assert len(read_table(out / "text")) == 5


@pytest.mark.parametrize("extra, message", [
    (["--method", "interp:wer", "--reference_text", "none"],
     "method interp needs the reference of every utterance, but the data has no reference table "
     "(--reference_text none, or a set without text): the set has no references; it compares the hypotheses "
     "with the reference. The reference-free methods: 1best, topk:K, qe:{logp,backward,combined}"),
    (["--method", "1best", "--reference_text", "none", "--filter_max_wer", "50"],
     "--filter_max_wer/--filter_min_bleu compare each label with its reference (for a reference-free filter "
     "use --confidence logp or qe)"),
    (["--method", "1best"],   # the default --reference_text text, on a set without text
     "the data dir has no reference table 'text' (its text tables: none); for a set without references "
     "(untranscribed audio) pass --reference_text none and a reference-free method (1best, topk:K, qe:"),
    (["--method", "topk:2", "--reference_text", "none", "--confidence", "qe", "--confidence_min", "0"],
     "--confidence qe needs the QE score of a method that computes one"),
    (["--method", "1best", "--reference_text", "none", "--confidence_keep_fraction", "0.5"],
     "--confidence_min and --confidence_keep_fraction need --confidence"),
])
def test_cli_errors_on_an_unlabeled_set(unlabeled_inputs, tmp_path: Path, capsys, extra, message) -> None:
    nbest_jsonl, data_dir = unlabeled_inputs
    out = tmp_path / "o"
    with pytest.raises(SystemExit) as exit_info:
        main(["--nbest_jsonl", str(nbest_jsonl), "--data_dir", str(data_dir), "--out_dir", str(out), *extra])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "ERROR: select: " in err and message in err
    assert not out.exists()


def test_runner_message_names_reference_free_methods(tmp_path: Path) -> None:
    with pytest.raises(SelectionInputError, match="The reference-free methods: 1best, topk:K"):
        select("interp:bleu", ConfidenceFilter(), tmp_path)
