"""Multi-reference BLEU / chrF and exact match (espnet_kd.bin.score_alternatives) against sacrebleu
called directly on hand-built reference streams, and the CLI's errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sacrebleu

from espnet_kd.utils.kaldi_dir import DataDirError
from espnet_kd.utils.mt_scoring import (
    exact_match_fraction,
    multi_reference_translation_score,
    read_alternatives,
    reference_streams,
)

# utterance id → every correct translation (1 to 3 of them), as the corpus writes them
ALTERNATIVES = {
    "u1": ["lunedì vediamo la macchina rossa", "vediamo l'auto rossa lunedì", "vediamo la macchina rossa lunedì"],
    "u2": ["c'è un gatto nel parco"],
    "u3": ["noi compriamo tre mele", "compriamo tre mele"],
    "u4": ["la stanza è grande", "la camera è grande"],
}
HYPS = {
    "u1": "vediamo l'auto  rossa lunedì",     # an alternative (extra space): an exact match
    "u2": "c'è un cane nel parco",
    "u3": "",                                 # empty hypothesis
    "u4": "la camera è grande",               # an exact match, of the second alternative
}
ORDER = ["u1", "u2", "u3", "u4"]
# sacrebleu's streams built by hand: three (the most alternatives), the shorter lists padded with
# their first alternative
STREAMS = [
    ["lunedì vediamo la macchina rossa", "c'è un gatto nel parco", "noi compriamo tre mele", "la stanza è grande"],
    ["vediamo l'auto rossa lunedì", "c'è un gatto nel parco", "compriamo tre mele", "la camera è grande"],
    ["vediamo la macchina rossa lunedì", "c'è un gatto nel parco", "noi compriamo tre mele", "la stanza è grande"],
]


def write_alternatives(path: Path, table) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for utt, alternatives in table.items():   # not in id order: the reader does not care
            handle.write(json.dumps({"utt_id": utt, "alternatives": alternatives}, ensure_ascii=False) + "\n")
    return path


def write_hyps(path: Path, table) -> Path:
    """Kaldi text; an empty hypothesis as a line with only its id."""
    path.write_text("".join(f"{utt} {text}".rstrip() + "\n" for utt, text in table.items()), encoding="utf-8")
    return path


def test_scores_are_sacrebleus_on_the_padded_streams():
    assert reference_streams([ALTERNATIVES[u] for u in ORDER]) == STREAMS
    hyps = [HYPS[u] for u in ORDER]
    score = multi_reference_translation_score(ALTERNATIVES, HYPS)
    assert score.bleu == pytest.approx(sacrebleu.corpus_bleu(hyps, STREAMS).score)
    assert score.chrf == pytest.approx(sacrebleu.corpus_chrf(hyps, STREAMS).score)
    assert score.num_utts == 4 and score.empty_hyps == 1
    assert score.bleu_signature.startswith("nrefs:3|case:mixed|eff:no|tok:13a")
    assert score.chrf_signature.startswith("nrefs:3|case:mixed")
    # padding changes nothing: sacrebleu's own variable reference count (None for a missing one) agrees
    unpadded = [[ALTERNATIVES[u][k] if k < len(ALTERNATIVES[u]) else None for u in ORDER] for k in range(3)]
    assert score.bleu == pytest.approx(sacrebleu.corpus_bleu(hyps, unpadded).score)
    assert score.chrf == pytest.approx(sacrebleu.corpus_chrf(hyps, unpadded).score)
    # more references help: higher than against the first alternatives alone
    assert score.bleu > sacrebleu.corpus_bleu(hyps, STREAMS[:1]).score


def test_exact_match_by_hand():
    # u1 (whitespace aside) and u4 match an alternative; u2 is wrong, u3 empty: 2 of 4
    assert exact_match_fraction(ALTERNATIVES, HYPS) == 0.5
    assert exact_match_fraction(ALTERNATIVES, {u: alts[-1] for u, alts in ALTERNATIVES.items()}) == 1.0
    assert exact_match_fraction(ALTERNATIVES, {u: alts[0].upper() for u, alts in ALTERNATIVES.items()}) == 0.0


def test_read_alternatives_errors(tmp_path):
    path = write_alternatives(tmp_path / "a.jsonl", ALTERNATIVES)
    assert read_alternatives(path) == ALTERNATIVES
    path.write_text('{"utt_id": "u1", "alternatives": ["a"]}\n{"utt_id": "u1", "alternatives": ["b"]}\n')
    with pytest.raises(DataDirError, match=r"a.jsonl:2: duplicate utt_id 'u1'"):
        read_alternatives(path)
    path.write_text('{"utt_id": "u1", "alternatives": []}\n')
    with pytest.raises(DataDirError, match=r"a.jsonl:1: expected .*at least one alternative"):
        read_alternatives(path)
    path.write_text('{"utt_id": "u1",\n')
    with pytest.raises(DataDirError, match=r"a.jsonl:1: not JSON"):
        read_alternatives(path)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "espnet_kd.bin.score_alternatives", *args],
                          capture_output=True, text=True, check=False)


@pytest.fixture
def files(tmp_path):
    return {
        "alternatives": write_alternatives(tmp_path / "text.it.jsonl", ALTERNATIVES),
        "hyp": write_hyps(tmp_path / "hyp", HYPS),
        "ref": write_hyps(tmp_path / "ref", {u: alts[-1] for u, alts in ALTERNATIVES.items()}),
        "out": tmp_path / "decode" / "score_alternatives.json",
    }


def test_cli_writes_and_prints_the_scores(files):
    result = run_cli("--alternatives", str(files["alternatives"]), "--hyp", str(files["hyp"]),
                     "--ref", str(files["ref"]), "--out", str(files["out"]))
    assert result.returncode == 0, result.stderr
    score = json.loads(files["out"].read_text(encoding="utf-8"))
    hyps = [HYPS[u] for u in ORDER]
    assert score["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, STREAMS).score)
    assert score["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, STREAMS).score)
    assert score["exact_match"] == 0.5 and score["num_utts"] == 4 and score["empty_hyps"] == 1
    assert score["max_alternatives"] == 3 and score["mean_alternatives"] == 2.0
    assert score["bleu_signature"].startswith("nrefs:3|") and score["chrf_signature"].startswith("nrefs:3|")
    assert f"multi-reference BLEU {score['bleu']:.2f} chrF {score['chrf']:.2f} exact match 50.0 %" in result.stdout
    assert "BLEU signature: nrefs:3|case:mixed|eff:no|tok:13a" in result.stdout
    # --ref is optional; --lowercase reaches sacrebleu
    lower = files["out"].with_name("lower.json")
    result = run_cli("--alternatives", str(files["alternatives"]), "--hyp", str(files["hyp"]), "--out", str(lower),
                     "--lowercase", "true")
    assert result.returncode == 0, result.stderr
    assert "case:lc" in json.loads(lower.read_text())["bleu_signature"]


@pytest.mark.parametrize("hyps, message", [
    ({u: HYPS[u] for u in ("u1", "u2", "u4")}, "/hyp lacks 1 utterance(s) of {alternatives}, the first 'u3'"),
    ({**HYPS, "u0": "x", "u9": "y"}, "/hyp has 2 utterance(s) that {alternatives} does not, the first 'u0'"),
])
def test_cli_mismatched_ids_are_clear_errors(files, hyps, message):
    write_hyps(files["hyp"], hyps)
    result = run_cli("--alternatives", str(files["alternatives"]), "--hyp", str(files["hyp"]),
                     "--out", str(files["out"]))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("ERROR: ") and len(result.stderr.strip().splitlines()) == 1
    assert message.format(alternatives=files["alternatives"]) in result.stderr, result.stderr
    assert not files["out"].exists()


def test_cli_reference_not_among_the_alternatives_is_an_error(files):
    write_hyps(files["ref"], {**{u: alts[0] for u, alts in ALTERNATIVES.items()}, "u2": "c'è un cane nel parco"})
    result = run_cli("--alternatives", str(files["alternatives"]), "--hyp", str(files["hyp"]),
                     "--ref", str(files["ref"]), "--out", str(files["out"]))
    assert result.returncode == 1
    assert "the reference of 'u2' (\"c'è un cane nel parco\") is not one of its alternatives" in result.stderr
    assert "different corpora" in result.stderr and not files["out"].exists()
    # a reference file of other utterances: the same diagnosis
    write_hyps(files["ref"], {"u1": ALTERNATIVES["u1"][0]})
    result = run_cli("--alternatives", str(files["alternatives"]), "--hyp", str(files["hyp"]),
                     "--ref", str(files["ref"]), "--out", str(files["out"]))
    assert result.returncode == 1 and "the first 'u2'" in result.stderr and "different corpora" in result.stderr
