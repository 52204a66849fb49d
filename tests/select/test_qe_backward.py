"""Tests for qe:backward with a tiny real ESPnet2 MT model (Italian → English, random or briefly trained).

Oracle: ESPnet's own training loss. With ``lsm_weight: 0`` and
``length_normalized_loss: true``, ``ESPnetMTModel.forward`` on one pair returns
the mean negative log-likelihood per target token (``<eos>`` included), so the
scorer's value of (hypothesis, transcript) must be minus that loss.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List

import pytest
import torch

from espnet_kd.bin.select import main
from espnet_kd.nbest.format import NBestEntry, write_nbest_jsonl
from espnet_kd.select import build_selector
from espnet_kd.select.qe import QEError, QEOptions
from espnet_kd.select.qe.backward import BackwardScorer
from espnet_kd.select.runner import run_selection
from espnet_kd.utils.kaldi_dir import KaldiDataDir
from tests.select.tiny_mt import ENGLISH, ITALIAN, batch_of, build_tiny_mt, ids, train_briefly

PAIRS = [
    ("uno due tre", "one two three"),
    ("sei", "six"),
    ("quattro cinque sei uno", "four five"),
    ("", "six"),  # an empty hypothesis still gets a value (<sos> alone as the input)
    ("zero due", "two six"),  # "zero" is not in the vocabulary: <unk>
]

# An ST-style data dir: text = Italian translation (reference), text.en = English transcript.
TRANSCRIPTS = {"spk1-a": "one two three", "spk1-b": "four five", "spk2-a": "six"}
TRANSLATIONS = {"spk1-a": "uno due tre", "spk1-b": "quattro cinque", "spk2-a": "sei"}
HYPS = {  # the correct translation is never rank 1
    "spk1-a": ["uno due", "uno due tre", "sei sei"],
    "spk1-b": ["quattro", "quattro cinque", "uno"],
    "spk2-a": ["due", "sei"],
}


@pytest.fixture(scope="module")
def random_model(tmp_path_factory):
    return build_tiny_mt(tmp_path_factory.mktemp("random_mt"), seed=3)


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory):
    model, config, checkpoint = build_tiny_mt(tmp_path_factory.mktemp("trained_mt"), seed=0)
    train_briefly(model, checkpoint)
    return model, config, checkpoint


def espnet_loss(model: torch.nn.Module, hypothesis: str, transcript: str) -> float:
    model.eval()
    with torch.no_grad():
        loss, stats, _ = model(**batch_of([(hypothesis, transcript)]))
    return float(loss)


def test_values_are_minus_espnet_loss(random_model) -> None:
    model, config, checkpoint = random_model
    scorer = BackwardScorer.from_options(
        QEOptions(backward_config=config, backward_model=checkpoint, batch_size=2)
    )
    values = scorer.pair_scores(PAIRS, [f"p{i}" for i in range(len(PAIRS))])
    expected = [-espnet_loss(model, hyp, src) for hyp, src in PAIRS]
    assert values == pytest.approx(expected, abs=1e-5)
    assert len(set(round(v, 4) for v in values)) == len(values)  # a real, input-dependent score
    # the same pairs one at a time, and all in one batch: padding changes nothing
    for batch_size in (1, 8):
        scorer.batch_size = batch_size
        assert scorer.pair_scores(PAIRS, ["k"] * len(PAIRS)) == pytest.approx(values, abs=1e-5)


def test_tokenisation_is_the_models_own(random_model) -> None:
    _, config, checkpoint = random_model
    scorer = BackwardScorer.from_options(QEOptions(backward_config=config, backward_model=checkpoint))
    hyp_ids, src_ids = scorer.token_ids(("zero due tre", "one six"), "k")
    assert list(hyp_ids) == ids("zero due tre", ITALIAN) == [1, 3, 4]
    assert list(src_ids) == ids("one six", ENGLISH) == [2, 7]


def st_dir(root: Path) -> KaldiDataDir:
    root.mkdir(parents=True)
    tables = {
        "wav.scp": {u: f"/audio/{u}.wav" for u in TRANSCRIPTS},
        "utt2spk": {u: u.split("-")[0] for u in TRANSCRIPTS},
        "text": TRANSLATIONS,
        "text.en": TRANSCRIPTS,
    }
    for name, table in tables.items():
        (root / name).write_text("".join(f"{k} {v}\n" for k, v in sorted(table.items())))
    (root / "spk2utt").write_text("spk1 spk1-a spk1-b\nspk2 spk2-a\n")
    return KaldiDataDir.load(root)


def st_nbest(logp: bool = False) -> Dict[str, List[NBestEntry]]:
    return {
        utt: [
            NBestEntry(utt, r, text, ids(text, ITALIAN), -float(r),
                       logp=-0.5 * r * max(len(text.split()), 1) if logp else None)
            for r, text in enumerate(texts, start=1)
        ]
        for utt, texts in HYPS.items()
    }


def test_ranking_follows_the_scores(random_model, tmp_path: Path) -> None:
    model, config, checkpoint = random_model
    options = QEOptions(backward_config=config, backward_model=checkpoint)
    selector = build_selector("qe:backward", qe_options=options)
    nbest = st_nbest()
    result = run_selection(selector, nbest, st_dir(tmp_path / "st"), source_name="text.en")
    values = selector.hypothesis_scores()["backward"]
    for pick in result.selections:
        hyps = nbest[pick.utt]
        oracle = [-espnet_loss(model, h.text, TRANSCRIPTS[pick.utt]) for h in hyps]
        assert [values[(pick.utt, h.rank)] for h in hyps] == pytest.approx(oracle, abs=1e-5)
        assert pick.rank == oracle.index(max(oracle)) + 1


def test_trained_backward_model_finds_the_right_translation(trained_model, tmp_path: Path) -> None:
    _, config, checkpoint = trained_model
    selector = build_selector(
        "qe:backward", qe_options=QEOptions(backward_config=config, backward_model=checkpoint)
    )
    result = run_selection(selector, st_nbest(), st_dir(tmp_path / "st"), source_name="text.en")
    assert {s.utt: s.text for s in result.selections} == TRANSLATIONS


def test_cli_backward_and_combined(trained_model, tmp_path: Path) -> None:
    _, config, checkpoint = trained_model
    st_dir(tmp_path / "st")
    nbest_jsonl = tmp_path / "nbest.jsonl"
    write_nbest_jsonl(nbest_jsonl, [h for hyps in st_nbest(logp=True).values() for h in hyps])
    common = ["--nbest_jsonl", str(nbest_jsonl), "--data_dir", str(tmp_path / "st"),
              "--source_text", "text.en",
              "--qe_backward_config", str(config), "--qe_backward_model", str(checkpoint)]
    main(common + ["--method", "qe:backward", "--out_dir", str(tmp_path / "bw")])
    assert (tmp_path / "bw" / "text").read_text() == "".join(
        f"{u} {t}\n" for u, t in sorted(TRANSLATIONS.items()))
    report = json.loads((tmp_path / "bw" / "select_report.json").read_text())
    backward = report["qe"]["correlations"]["backward"]
    assert backward["hypotheses"] == 8 and backward["spearman"] > 0.5
    assert report["scores"]["all_selected"]["mean_sentence_bleu"] == pytest.approx(100.0)
    assert report["method"]["qe"]["model"] == str(checkpoint)

    weights = tmp_path / "combined.json"
    main(common + ["--method", "qe:combined", "--qe_fit_combined", str(weights),
                   "--out_dir", str(tmp_path / "fit")])
    fitted = json.loads(weights.read_text())
    assert fitted["components"] == ["logp", "backward"]
    assert fitted["fitted_on"] == {"hypotheses": 8, "utterances": 3}
    report = json.loads((tmp_path / "fit" / "select_report.json").read_text())
    assert sorted(report["qe"]["correlations"]) == ["backward", "combined", "logp"]

    # and used on data without references
    main(common + ["--method", "qe:combined", "--qe_combined_weights", str(weights),
                   "--reference_text", "none", "--out_dir", str(tmp_path / "use")])
    report = json.loads((tmp_path / "use" / "select_report.json").read_text())
    assert report["qe"] is None and report["references"] is None
    assert report["method"]["qe"]["weights"]["weights"] == fitted["weights"]


def test_missing_model_files(tmp_path: Path) -> None:
    with pytest.raises(QEError, match=r"config file .*nope.yaml not found"):
        build_selector("qe:backward", qe_options=QEOptions(
            backward_config=tmp_path / "nope.yaml", backward_model=tmp_path / "m.pth"))
