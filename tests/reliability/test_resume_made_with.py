"""Issue 15, item 2: a resume must not reuse work made under other options or from another model.

``nbest``'s ``partial.jsonl`` starts with a header (search options, model sha256): a resume
under other options, a partial file of an older version (no header) and a merge of jobs made
under different options are refused with one line naming the difference and the dir to
remove; options that do not change the hypotheses (batch size) may change. ``dump_topk``
refuses to resume over other data, and over shards without ``build.json``.
``select_report.json`` records what the labels were made from.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from espnet_kd.bin import nbest as nbest_cli
from espnet_kd.nbest.format import read_nbest_jsonl
from espnet_kd.utils.fingerprint import file_sha256
from tests.tasks.tiny_espnet import NBEST_TEXTS as TEXTS
from tests.tasks import tiny_espnet as tiny
from tests.tasks.word_kd_helpers import dump


def decode(setup, out_dir: Path, *options: object) -> None:
    nbest_cli.main([str(arg) for arg in [
        "--model_config", setup["config"], "--model_file", setup["model_file"],
        "--data_dir", setup["data_dir"], "--progress", "false", "--ctc_weight", "0.3",
        "--out_dir", out_dir, *options]])


def refused(capsys, function, *args) -> str:
    with pytest.raises(SystemExit) as stop:
        function(*args)
    assert stop.value.code == 1
    return capsys.readouterr().err


def interrupt(out_dir: Path, keep: int) -> None:
    """Leave the first ``keep`` lines of partial.jsonl and no finished outputs (a killed run)."""
    partial = out_dir / "partial.jsonl"
    lines = partial.read_text().splitlines(keepends=True)
    partial.write_text("".join(lines[:keep]))
    for name in ("nbest.jsonl", "summary.json"):
        (out_dir / name).unlink()


def test_nbest_resume_under_other_options_is_refused(asr_setup, tmp_path, capsys):
    out = tmp_path / "nbest_train"
    decode(asr_setup, out, "--beam_size", "4", "--nbest", "4")
    interrupt(out, keep=4)
    err = refused(capsys, decode, asr_setup, out, "--beam_size", "2", "--nbest", "2")
    assert (f"ERROR: {out}/partial.jsonl was made with --beam_size 4 --nbest 4, not --beam_size 2 --nbest 2; "
            f"remove {out} to decode again") in err
    assert not (out / "nbest.jsonl").exists()
    # the batch size does not change the hypotheses: a resume with another one goes on
    decode(asr_setup, out, "--beam_size", "4", "--nbest", "4", "--batch_size", "2")
    nbest = read_nbest_jsonl(out / "nbest.jsonl")
    assert set(nbest) == set(TEXTS) and max(len(hyps) for hyps in nbest.values()) == 4
    summary = json.loads((out / "summary.json").read_text())
    assert summary["options"]["beam_size"] == 4 and summary["options"]["nbest"] == 4
    assert summary["model"]["sha256"] == file_sha256(asr_setup["model_file"])


def test_nbest_resume_with_another_model_is_refused(asr_setup, tmp_path, capsys):
    out = tmp_path / "nbest_train"
    decode(asr_setup, out, "--beam_size", "3", "--nbest", "2")
    interrupt(out, keep=3)
    other = dict(asr_setup)
    other["config"], other["model_file"], _ = tiny.make_asr_model(
        tmp_path / "other", asr_setup["root"] / "tokens.txt", seed=11)
    err = refused(capsys, decode, other, out, "--beam_size", "3", "--nbest", "2")
    assert f"{out}/partial.jsonl was made with model {asr_setup['model_file']} (sha256 " in err
    assert f"not {other['model_file']} (sha256 " in err and f"remove {out} to decode again" in err


def test_nbest_partial_file_without_header_is_refused(asr_setup, tmp_path, capsys):
    out = tmp_path / "nbest_train"
    decode(asr_setup, out, "--beam_size", "3", "--nbest", "2")
    partial = out / "partial.jsonl"
    # an older version's partial file: utterance records only
    records = [line for line in partial.read_text().splitlines(keepends=True) if '"header"' not in line]
    partial.write_text("".join(records[:3]))
    err = refused(capsys, decode, asr_setup, out, "--beam_size", "3", "--nbest", "2")
    assert f"{partial} has no header saying what it was made with" in err
    assert f"remove {out} to decode again" in err


def test_merge_of_jobs_under_different_options_is_refused(asr_setup, tmp_path, capsys):
    utts = sorted(TEXTS)
    jobs = []
    for job, (keys, nbest) in enumerate(((utts[:4], "2"), (utts[4:], "3")), start=1):
        key_file = tiny.write_lines(tmp_path / f"keys.{job}", keys)
        jobs.append(tmp_path / "logdir" / f"output.{job}")
        decode(asr_setup, jobs[-1], "--beam_size", "3", "--nbest", nbest, "--key_file", key_file)
    merge = ["--merge", "--model_config", str(asr_setup["config"]), "--out_dir", str(tmp_path / "merged")]
    err = refused(capsys, nbest_cli.main, [*merge, *map(str, jobs)])
    assert f"cannot merge jobs decoded under different settings: {jobs[1]} was made with --nbest 3, " \
           f"not --nbest 2; remove {jobs[1]} to decode that job again with the settings of {jobs[0]}" in err
    assert not (tmp_path / "merged" / "nbest.jsonl").exists()
    # jobs of one setting merge, and the merged summary records it
    key_file = tiny.write_lines(tmp_path / "keys.2", utts[4:])
    decode(asr_setup, tmp_path / "logdir" / "again.2", "--beam_size", "3", "--nbest", "2", "--key_file", key_file)
    nbest_cli.main([*merge, str(jobs[0]), str(tmp_path / "logdir" / "again.2")])
    summary = json.loads((tmp_path / "merged" / "summary.json").read_text())
    assert summary["options"]["nbest"] == 2 and summary["options"]["beam_size"] == 3
    assert summary["model"]["sha256"] == file_sha256(asr_setup["model_file"])


def test_dump_topk_resume_over_changed_data_is_refused(kd_env, tmp_path, capsys):
    out = dump(kd_env, tmp_path / "cache", extra=("--num_shards", "2", "--shards", "0"))
    text = kd_env["data"] / "text"
    original = text.read_text()
    try:
        # same utterances, another reference: shard 0 was made from the old one
        lines = original.splitlines(keepends=True)
        utt = lines[0].split()[0]
        text.write_text("".join([f"{utt} e e e\n", *lines[1:]]))
        err = refused(capsys, dump, kd_env, out, "asr", None, 4, ("--num_shards", "2"))
    finally:
        text.write_text(original)
    assert f"{out} was started with other settings: data changed since: {text}" in err
    assert f"remove {out} to dump again" in err
    assert not (out / "meta.json").exists()


def test_dump_topk_shards_without_build_record_are_refused(kd_env, tmp_path, capsys):
    out = dump(kd_env, tmp_path / "cache", extra=("--num_shards", "2", "--shards", "0"))
    (out / "build.json").unlink()   # as an older version, or a hand-copied cache, leaves it
    err = refused(capsys, dump, kd_env, out, "asr", None, 4, ("--num_shards", "2"))
    assert f"{out} holds shards but no build.json saying what they were made with" in err
    assert not (out / "meta.json").exists()


def test_select_report_records_what_the_labels_were_made_from(asr_setup, tmp_path):
    from espnet_kd.bin import select as select_cli

    out = tmp_path / "nbest_train"
    decode(asr_setup, out, "--beam_size", "3", "--nbest", "2")
    data = tmp_path / "train"
    shutil.copytree(asr_setup["data_dir"], data)
    tiny.write_lines(data / "utt2spk", [f"{utt} {utt}" for utt in sorted(TEXTS)])
    tiny.write_lines(data / "spk2utt", [f"{utt} {utt}" for utt in sorted(TEXTS)])
    select_cli.main(["--nbest_jsonl", str(out / "nbest.jsonl"), "--data_dir", str(data),
                     "--method", "topk:2", "--out_dir", str(tmp_path / "train_topk2")])
    made_with = json.loads((tmp_path / "train_topk2" / "select_report.json").read_text())["made_with"]
    assert made_with["options"]["method"] == "topk:2"
    assert made_with["nbest"]["sha256"] == file_sha256(out / "nbest.jsonl")
    assert made_with["nbest"]["options"]["nbest"] == 2
    assert made_with["nbest"]["model"]["sha256"] == file_sha256(asr_setup["model_file"])
    assert made_with["data_dir"]["fingerprint"].startswith("dir:")
