"""The engine's output dir (espnet_kd/nbest/outputs.py): partial.jsonl holds nbest.jsonl entries.

Once a search ends, hypotheses are ``NBestEntry`` objects: the partial file a resume reads
stores them as ``nbest.jsonl`` stores them, and a partial file of another format is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from espnet_kd.nbest.beam_search import BeamSearchOptions
from espnet_kd.nbest.engine import BatchingOptions, decode_data_set
from espnet_kd.nbest.outputs import PARTIAL_FORMAT, NBestDataError, read_partial
from espnet_kd.teacher import load_teacher
from tests.tasks.tiny_espnet import NBEST_TEXTS as TEXTS

OPTIONS = BeamSearchOptions(beam_size=2, nbest=2, ctc_weight=0.0)


def decode(setup, out_dir: Path) -> None:
    teacher = load_teacher("asr", setup["config"], setup["model_file"])
    decode_data_set(teacher, setup["data_dir"] / "wav.scp", out_dir, OPTIONS, BatchingOptions(batch_size=4),
                    show_progress=False)


def test_partial_file_holds_the_nbest_entries(asr_setup, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    decode(asr_setup, out_dir)
    lines = (out_dir / "partial.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["header"]["format"] == PARTIAL_FORMAT
    nbest_lines = (out_dir / "nbest.jsonl").read_text(encoding="utf-8").splitlines()
    stored = [json.loads(line) for line in lines[1:]]
    assert sorted(record["utt"] for record in stored) == sorted(TEXTS)
    # the same JSON objects as nbest.jsonl's lines (which are in utterance order)
    by_utt = {record["utt"]: record["hyps"] for record in stored}
    assert [hyp for utt in sorted(by_utt) for hyp in by_utt[utt]] == [json.loads(line) for line in nbest_lines]
    done = read_partial(out_dir / "partial.jsonl")
    assert [entry.rank for entry in done["utt00"]] == [1, 2] and done["utt00"][0].logp is not None


def test_partial_file_of_another_format_is_refused(asr_setup, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    decode(asr_setup, out_dir)
    partial = out_dir / "partial.jsonl"
    lines = partial.read_text(encoding="utf-8").splitlines(keepends=True)
    header = json.loads(lines[0])
    header["header"]["format"] = "espnet_kd.nbest.partial/2"
    partial.write_text(json.dumps(header) + "\n" + "".join(lines[1:3]), encoding="utf-8")
    with pytest.raises(NBestDataError, match=rf"{partial} is in the format espnet_kd.nbest.partial/2, not "
                                             rf"{PARTIAL_FORMAT} \(another version wrote it\): remove {out_dir}"):
        decode(asr_setup, out_dir)


def test_unreadable_partial_record_names_file_and_line(asr_setup, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    decode(asr_setup, out_dir)
    partial = out_dir / "partial.jsonl"
    lines = partial.read_text(encoding="utf-8").splitlines(keepends=True)
    record = json.loads(lines[2])
    del record["hyps"][0]["text"]
    partial.write_text("".join(lines[:2]) + json.dumps(record) + "\n", encoding="utf-8")
    unreadable = rf"{partial}:3: unreadable record \(hypothesis: missing field\(s\) text\)"
    with pytest.raises(NBestDataError, match=unreadable):
        read_partial(partial)
