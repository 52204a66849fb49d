"""The recipes' method table (espnet_kd.methods) and its shell interface (espnet_kd.bin.methods)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from espnet_kd.bin.results_table import student_labels
from espnet_kd.methods import (
    MethodError,
    known_methods,
    method_label,
    method_tag,
    resolve_method,
    resolve_methods,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_methods(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "espnet_kd.bin.methods", *args],
        capture_output=True, text=True, cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
    )


def common_sh_tag(method: str) -> str:
    """The rule of the stage scripts' former ``method_tag`` (common.sh), which the tags must keep."""
    if method == "1best":
        return "seqkd"
    return re.sub(r"[^A-Za-z0-9_]", "_", re.sub(r"[:,=]", "", method))


def test_shell_output_format() -> None:
    result = run_methods("shell", "--task", "asr", "baseline", "1best", "topk:4")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "method_names=(baseline 1best topk:4)\n"
        "method_tags=(baseline seqkd topk4)\n"
        "method_kinds=(reference selection selection)\n"
        "method_select=('' 1best topk:4)\n"
        "method_unlabeled=(false false false)\n"
        "method_base_tags=('' '' '')\n"
        "need_nbest=true\n"
        "need_topk=false\n"
        "need_backward=false\n"
        "need_unlabeled=false\n"
    )


def test_shell_st_list_with_alias_and_students() -> None:
    result = run_methods("shell", "--task", "st", "baseline seqkd interp:bleu qe:backward", "wordkd", "wordkd_ft")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "method_names=(baseline 1best interp:bleu qe:backward wordkd wordkd_ft)",
        "method_tags=(baseline seqkd interpbleu qebackward wordkd wordkd_ft)",
        "method_kinds=(reference selection selection selection wordkd wordkd_ft)",
        "method_select=('' 1best interp:bleu qe:backward '' '')",
        "method_unlabeled=(false false false false false false)",
        "method_base_tags=('' '' '' '' '' '')",
        "need_nbest=true",
        "need_topk=true",
        "need_backward=true",
        "need_unlabeled=false",
    ]


@pytest.mark.parametrize("methods, nbest, topk, backward", [
    (["baseline"], "false", "false", "false"),
    (["wordkd"], "false", "true", "false"),
    (["qe:logp"], "true", "false", "false"),
    (["qe:combined"], "true", "false", "true"),
    (["baseline", "wordkd", "wordkd_ft"], "false", "true", "false"),
])
def test_shell_needs(methods: List[str], nbest: str, topk: str, backward: str) -> None:
    result = run_methods("shell", "--task", "st", *methods)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[6:9] == [f"need_nbest={nbest}", f"need_topk={topk}", f"need_backward={backward}"]


def test_shell_asr_wordkd_ctc() -> None:
    """Word KD plus CTC KD: an ASR student of its own kind, which reads the word-level top-k too."""
    result = run_methods("shell", "--task", "asr", "baseline", "wordkd", "wordkd_ctc")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "method_names=(baseline wordkd wordkd_ctc)",
        "method_tags=(baseline wordkd wordkd_ctc)",
        "method_kinds=(reference wordkd wordkd_ctc)",
        "method_select=('' '' '')",
        "method_unlabeled=(false false false)",
        "method_base_tags=('' '' '')",
        "need_nbest=false",
        "need_topk=true",
        "need_backward=false",
        "need_unlabeled=false",
    ]
    assert method_label("wordkd_ctc", "asr") == "wordkd + CTC KD"
    with pytest.raises(MethodError, match="not one the st recipe accepts"):
        method_label("wordkd_ctc", "st")


def test_shell_unlabeled_students() -> None:
    """<method>+unlabeled: a selection student of its own tag, naming its method's tag without the unlabeled sets."""
    result = run_methods("shell", "--task", "asr", "baseline", "seqkd", "seqkd+unlabeled", "topk:4+unlabeled")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "method_names=(baseline 1best 1best+unlabeled topk:4+unlabeled)",
        "method_tags=(baseline seqkd seqkd_unl topk4_unl)",
        "method_kinds=(reference selection selection selection)",
        "method_select=('' 1best 1best topk:4)",
        "method_unlabeled=(false false true true)",
        "method_base_tags=('' '' seqkd topk4)",
        "need_nbest=true",
        "need_topk=false",
        "need_backward=false",
        "need_unlabeled=true",
    ]
    assert method_label("1best+unlabeled", "asr") == method_label("1best", "asr") + " + unlabeled"
    assert method_label("qe:backward+unlabeled", "st") == "Seq-Inter with QE (backward) + unlabeled"
    assert resolve_method("qe:backward+unlabeled", "st").needs_backward_model
    assert student_labels(["1best+unlabeled"])["seqkd_unl"] == "Seq-KD (teacher 1-best) + unlabeled"


def test_shell_output_evaluates_in_bash() -> None:
    script = ('eval "$(python -m espnet_kd.bin.methods shell --task asr baseline interp:wer)"; '
              'echo "${#method_select[@]}|${method_select[0]}|${method_select[1]}|${method_tags[1]}"')
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, env=env)
    assert result.stdout == "2||interp:wer|interpwer\n", result.stderr


@pytest.mark.parametrize("task, methods, message", [
    ("st", [], r"no methods given; the st recipe accepts: baseline, 1best \(seqkd\), interp:bleu"),
    ("st", ["baseline", "foo"], r"unknown method 'foo'; the st recipe accepts: baseline, 1best \(seqkd\), "
                                r"interp:bleu, interp:chrf, qe:logp, qe:backward, qe:combined, wordkd, wordkd_ft; a reference-free "
                                r"selection with \+unlabeled \(e.g. 1best\+unlabeled\) also trains on --unlabeled_sets$"),
    ("asr", ["interp:wer+unlabeled"], r"'interp:wer\+unlabeled': interp:wer picks the hypothesis nearest the "
                                      r"reference, and an untranscribed set has none; reference-free selections: "
                                      r"1best, topk:K, qe:logp$"),
    ("st", ["baseline+unlabeled"], r"only a pseudo-label selection can label untranscribed audio, and 'baseline' "
                                   r"is not one .*reference-free selections: 1best, qe:logp, qe:backward, qe:combined$"),
    ("asr", ["wordkd+unlabeled"], r"'wordkd' is not one"),
    ("asr", ["1best+unlabeled+unlabeled"], r"\+unlabeled is given once"),
    ("asr", ["seqkd+unlabeled", "1best+unlabeled"], r"the same tag 'seqkd_unl'"),
    ("st", ["topk:4+unlabeled"], r"method 'topk:4' is not one the st recipe accepts"),
    ("st", ["topk:4"], r"method 'topk:4' is not one the st recipe accepts \(it is for asr\)"),
    ("st", ["interp:wer"], r"method 'interp:wer' is not one the st recipe accepts"),
    ("asr", ["qe:backward"], r"method 'qe:backward' is not one the asr recipe accepts \(it is for st\)"),
    ("st", ["wordkd_ft", "wordkd"], r"wordkd_ft fine-tunes the wordkd student; list wordkd before it"),
    ("st", ["wordkd_ft"], r"wordkd_ft fine-tunes the wordkd student"),
    ("st", ["wordkd_ctc"], r"method 'wordkd_ctc' is not one the st recipe accepts \(it is for asr\)"),
    ("st", ["seqkd", "1best"], r"methods 'seqkd' and '1best' have the same tag 'seqkd'"),
    ("asr", ["topk:4", "topk:4"], r"methods 'topk:4' and 'topk:4' have the same tag 'topk4'"),
    ("asr", ["topk:x"], r"method topk needs a number of hypotheses, e.g. 'topk:4', got 'topk:x'"),
    ("asr", ["qe:nope"], r"unknown QE scorer 'nope'"),
])
def test_shell_errors(task: str, methods: List[str], message: str) -> None:
    result = run_methods("shell", "--task", task, *methods)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: methods: "), result.stderr
    assert re.search(message, lines[0]), lines[0]


def test_list_st() -> None:
    result = run_methods("list", "--task", "st")
    assert result.returncode == 0, result.stderr
    assert [line.split("\t") for line in result.stdout.splitlines()] == [
        ["baseline", "baseline", "Baseline (references)"],
        ["1best", "seqkd", "Seq-KD (teacher 1-best)"],
        ["interp:bleu", "interpbleu", "Seq-Inter (BLEU)"],
        ["interp:chrf", "interpchrf", "Seq-Inter (chrF)"],
        ["qe:logp", "qelogp", "Seq-Inter with QE (logp)"],
        ["qe:backward", "qebackward", "Seq-Inter with QE (backward)"],
        ["qe:combined", "qecombined", "Seq-Inter with QE (combined)"],
        ["wordkd", "wordkd", "Word KD"],
        ["wordkd_ft", "wordkd_ft", "Word KD + fine-tuning"],
    ]


def test_known_methods_per_task() -> None:
    assert known_methods("asr") == ["baseline", "1best", "topk:K", "interp:bleu", "interp:chrf",
                                    "interp:wer", "qe:logp", "wordkd", "wordkd_ft", "wordkd_ctc"]
    assert "wordkd_ctc" not in known_methods("st")
    assert "topk:K" not in known_methods("st") and "qe:backward" in known_methods("st")


@pytest.mark.parametrize("name", ["1best", "topk:4", "topk:12", "interp:wer", "interp:bleu", "interp:chrf",
                                  "qe:logp", "qe:backward", "qe:combined", "baseline", "wordkd", "wordkd_ft",
                                  "wordkd_ctc"])
def test_tags_keep_the_stage_scripts_rule(name: str) -> None:
    assert method_tag(name) == common_sh_tag(name)


def test_resolve_alias_and_kinds() -> None:
    seqkd = resolve_method("seqkd", "st")
    assert (seqkd.name, seqkd.tag, seqkd.kind, seqkd.select) == ("1best", "seqkd", "selection", "1best")
    assert resolve_method("wordkd_ft", "asr").kind == "wordkd_ft"
    assert resolve_method("baseline", "st").select == ""
    with pytest.raises(MethodError, match="unknown task"):
        resolve_methods(["baseline"], "mt")


def test_asr_labels_as_the_asr_table_printed_them() -> None:
    assert student_labels(["1best", "topk:4", "interp:wer", "interp:bleu", "interp:chrf", "qe:logp"]) == {
        "teacher": "references",
        "baseline": "references",
        "seqkd": "Seq-KD (teacher 1-best)",
        "topk4": "Multi-hypothesis Seq-KD (teacher top-4)",
        "interpwer": "Seq-Inter (WER)",
        "interpbleu": "Seq-Inter (BLEU)",
        "interpchrf": "Seq-Inter (CHRF)",
        "qelogp": "Seq-Inter with QE (logp)",
        "wordkd": "wordkd",
        "wordkd_ft": "wordkd_ft",
        "wordkd_ctc": "wordkd + CTC KD",
    }
    assert method_label("interp:chrf", "st") == "Seq-Inter (chrF)"
    assert method_label("baseline", "st") == "Baseline (references)"


def test_cli_imports_neither_torch_nor_espnet2() -> None:
    code = ("import sys, espnet_kd.bin.methods; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'espnet2', 'espnet')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT,
                            env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    assert result.stdout.strip() == "[]", result.stderr
