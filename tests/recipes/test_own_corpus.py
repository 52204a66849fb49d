"""A new corpus is one run.sh: egs2/TEMPLATE/<task>/setup.sh makes the recipe, --data_src imports Kaldi dirs.

Fast: setup.sh's recipe (links, copies, run.sh) and its refusal of an existing dir; stage 1 with --data_src
(copies the sets; every bad input stops it before anything is copied, naming the file). Slow (marked): a
22.05 kHz char corpus in Kaldi form, a recipe made by setup.sh, run end to end with tiny configs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Dict, Iterable, List, Sequence

import numpy as np
import pytest
import soundfile

from espnet_kd.utils.kaldi_dir import KaldiDataDir

from .conftest import REPO_ROOT, run_script
from .tiny_configs import ASR_TINY

RATE = 22050   # the corpus's own rate: stage 2 resamples it to the recipes' 16 kHz


def without_local_data_opts(options: Sequence[str]) -> List[str]:
    """A tiny-config list without its --local_data_opts pair (that is mini_synth's local/data.sh's)."""
    out, skip = [], False
    for option in options:
        if skip:
            skip = False
        elif option == "--local_data_opts":
            skip = True
        else:
            out.append(option)
    return out


TINY = without_local_data_opts(ASR_TINY)


@pytest.fixture
def egs2(tmp_path: Path) -> Path:
    """A scratch egs2/ holding a copy of egs2/TEMPLATE (setup.sh makes recipes beside it)."""
    shutil.copytree(REPO_ROOT / "egs2" / "TEMPLATE", tmp_path / "egs2" / "TEMPLATE", symlinks=True)
    return tmp_path / "egs2"


def setup_recipe(egs2: Path, task: str, target: Path, *options: str):
    return run_script(egs2.parent, [str(egs2 / "TEMPLATE" / task / "setup.sh"), *options, str(target)], timeout=60)


def write_kaldi_dir(path: Path, wav_dir: Path, texts: Dict[str, str], rate: int = RATE,
                    extra_texts: Iterable[str] = (), seconds: float = 0.5) -> None:
    """A data dir as a user's corpus has one: wav.scp (absolute paths), text, utt2spk; no spk2utt."""
    path.mkdir(parents=True)
    wav_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(texts))
    rows: Dict[str, List[str]] = {"wav.scp": [], "text": [], "utt2spk": []}
    for utt in sorted(texts):
        wav = wav_dir / f"{utt}.wav"
        soundfile.write(wav, (rng.standard_normal(int(rate * seconds)) * 1000).astype(np.int16), rate,
                        subtype="PCM_16")
        rows["wav.scp"].append(f"{utt} {wav}")
        rows["text"].append(f"{utt} {texts[utt]}")
        rows["utt2spk"].append(f"{utt} {utt.split('-')[0]}")
    for name in extra_texts:
        rows[name] = rows["text"]
    for name, lines in rows.items():
        (path / name).write_text("".join(line + "\n" for line in lines))


def write_corpus(root: Path, sets: Sequence[str] = ("train", "dev", "test"), extra_texts: Iterable[str] = ()) -> Path:
    """<root>/data/<set>/ for every set (three utterances each, two speakers), audio under <root>/wav/."""
    for dset in sets:
        texts = {f"spk{i % 2}-{dset}-{i}": f"the {dset} utterance {i}" for i in range(3)}
        write_kaldi_dir(root / "data" / dset, root / "wav" / dset, texts, extra_texts=extra_texts)
    return root / "data"


# ---------------------------------------------------------------- setup.sh

@pytest.mark.parametrize("task, script, links", [
    ("asr1", "asr.sh", ["asr.sh", "path.sh", "scripts"]),
    ("st1", "st.sh", ["st.sh", "tune_wordkd.sh", "path.sh", "scripts"]),
])
def test_setup_makes_a_recipe_of_links_copies_and_a_run_sh(egs2, tmp_path, task, script, links):
    corpus = write_corpus(tmp_path / "corpus")
    recipe = egs2 / "mycorpus" / task
    result = setup_recipe(egs2, task, recipe, "--data_src", os.path.relpath(corpus, egs2.parent))
    assert result.returncode == 0, result.stdout
    template = egs2 / "TEMPLATE" / task
    # the shared code is linked, relative inside the repository (as the shipped recipes' links)
    for name in links:
        link = recipe / name
        assert link.is_symlink() and not os.path.isabs(os.readlink(link)), name
        target = egs2 / "TEMPLATE" / ("scripts" if name == "scripts" else f"{task}/{name}")
        assert link.resolve() == target.resolve()
    # conf/ and cmd.sh are the recipe's own copies of the template's
    assert not (recipe / "conf").is_symlink() and not (recipe / "cmd.sh").is_symlink()
    template_confs = sorted(p.relative_to(template / "conf") for p in (template / "conf").rglob("*.yaml"))
    assert template_confs and template_confs == sorted(p.relative_to(recipe / "conf")
                                                       for p in (recipe / "conf").rglob("*.yaml"))
    for name in template_confs:
        assert (recipe / "conf" / name).read_bytes() == (template / "conf" / name).read_bytes()
    assert (recipe / "cmd.sh").read_bytes() == (template / "cmd.sh").read_bytes()
    # run.sh: executable, the corpus's choices, --data_src made absolute (run.sh runs in the recipe dir)
    run_sh = (recipe / "run.sh").read_text()
    assert os.access(recipe / "run.sh", os.X_OK)
    assert f"data_src={corpus.resolve()}\n" in run_sh and f"exec ./{script}" in run_sh
    for choice in ("--train_set train", "--valid_set dev", '--test_sets "dev test"', "--methods", "mycorpus"):
        assert choice in run_sh
    # the stage script runs there, with the defaults it reads from conf/
    help_result = run_script(recipe, ["./run.sh", "--help"], timeout=60)
    assert help_result.returncode == 0 and f"--data_src {corpus.resolve()}" in help_result.stdout


def test_setup_links_absolutely_outside_the_repository_and_leaves_data_src_empty(egs2, tmp_path_factory):
    recipe = tmp_path_factory.mktemp("elsewhere") / "asr1"   # outside the scratch repository (egs2's parent)
    result = setup_recipe(egs2, "asr1", recipe)
    assert result.returncode == 0, result.stdout
    assert os.readlink(recipe / "asr.sh") == str((egs2 / "TEMPLATE/asr1/asr.sh").resolve())
    assert "data_src=''\n" in (recipe / "run.sh").read_text()
    # path.sh, a link, finds the template's repository root (and so its .venv) from anywhere
    probe = run_script(recipe, ["bash", "-c", ". ./path.sh && echo root=${repo_root}"], timeout=30)
    assert f"root={egs2.parent.resolve()}" in probe.stdout
    # without --data_src and without local/data.sh, stage 1 says what to do
    stage1 = run_script(recipe, ["./run.sh", "--stage", "1", "--stop_stage", "1"], timeout=60)
    assert stage1.returncode != 0
    assert "stage 1 needs the corpus: pass --data_src DIR" in stage1.stdout and "local/data.sh" in stage1.stdout


def test_setup_refuses_an_existing_non_empty_dir_and_a_file(egs2):
    recipe = egs2 / "mycorpus" / "asr1"
    recipe.mkdir(parents=True)
    (recipe / "run.sh").write_text("# mine\n")
    result = setup_recipe(egs2, "asr1", recipe)
    assert result.returncode == 1
    assert f"ERROR: setup.sh: {recipe} exists and is not empty" in result.stdout
    assert (recipe / "run.sh").read_text() == "# mine\n" and sorted(os.listdir(recipe)) == ["run.sh"]
    a_file = egs2 / "mycorpus" / "st1"
    a_file.write_text("")
    result = setup_recipe(egs2, "st1", a_file)
    assert result.returncode == 1 and "exists and is not a directory" in result.stdout
    # an empty directory is fine; two arguments are not
    (egs2 / "empty" / "asr1").mkdir(parents=True)
    assert setup_recipe(egs2, "asr1", egs2 / "empty" / "asr1").returncode == 0
    two = run_script(egs2.parent, [str(egs2 / "TEMPLATE/asr1/setup.sh"), "a", "b"], timeout=30)
    assert two.returncode == 1 and "one argument, the new recipe directory" in two.stdout


# ---------------------------------------------------------------- stage 1 with --data_src

@pytest.fixture
def asr_recipe(egs2):
    recipe = egs2 / "mycorpus" / "asr1"
    assert setup_recipe(egs2, "asr1", recipe).returncode == 0
    return recipe


def stage1(recipe: Path, *options: str):
    return run_script(recipe, ["./run.sh", "--stage", "1", "--stop_stage", "1", *options], timeout=120)


def test_data_src_copies_every_set_into_data(asr_recipe, tmp_path):
    corpus = write_corpus(tmp_path / "corpus", sets=("train", "valid", "eval"))
    (corpus / "eval" / "segments").write_text("".join(
        f"{utt} {utt} 0.0 0.4\n" for utt in sorted(KaldiDataDir.load(corpus / "eval").utt_ids)))
    (corpus / "train" / ".backup").mkdir()
    (corpus / "train" / "text.tmp").write_text("junk\n")
    # a stale set of an earlier run is replaced as a whole
    (asr_recipe / "data/train").mkdir(parents=True)
    (asr_recipe / "data/train/old_file").write_text("x\n")
    result = stage1(asr_recipe, "--data_src", str(corpus), "--valid_set", "valid", "--test_sets", "valid eval")
    assert result.returncode == 0, result.stdout
    assert re.search(r"data/eval: copied from .*/eval \(3 utterances; segments text utt2spk wav.scp\)", result.stdout)
    assert sorted(os.listdir(asr_recipe / "data")) == ["eval", "train", "valid"]
    assert sorted(os.listdir(asr_recipe / "data/train")) == ["text", "utt2spk", "wav.scp"]
    for dset in ("train", "valid", "eval"):
        for name in os.listdir(corpus / dset):
            if not name.startswith(".") and not name.endswith(".tmp"):
                assert (asr_recipe / "data" / dset / name).read_bytes() == (corpus / dset / name).read_bytes()
    # --data_src data (the recipe's own data dirs) checks them and copies nothing
    again = stage1(asr_recipe, "--data_src", "data", "--valid_set", "valid", "--test_sets", "valid eval")
    assert again.returncode == 0 and "data/train: --data_src's own, checked" in again.stdout


def corrupt(corpus: Path, case: str) -> None:
    """Break the corpus one way."""
    if case == "missing_set":
        shutil.rmtree(corpus / "dev")
    elif case == "missing_file":
        (corpus / "test" / "utt2spk").unlink()
    elif case == "misaligned":
        text = corpus / "dev" / "text"
        text.write_text("".join(text.read_text().splitlines(keepends=True)[:2]))
    elif case == "empty_training_text":
        (corpus / "train" / "text").write_text("spk0-train-0 a\nspk0-train-2\nspk1-train-1 b\n")
    elif case == "missing_audio":
        next((corpus.parent / "wav" / "test").iterdir()).unlink()
    elif case == "unsorted":
        utt2spk = corpus / "train" / "utt2spk"
        utt2spk.write_text("".join(reversed(utt2spk.read_text().splitlines(keepends=True))))


@pytest.mark.parametrize("case, messages", [
    ("missing_set", ["corpus/data/dev not found", "for each of the sets train dev test", "holds test train"]),
    ("missing_file", ["ERROR: ", "corpus/data/test: missing utt2spk", "data/test is not a usable data dir"]),
    ("misaligned", ["corpus/data/dev: text covers different utterances than utt2spk", "spk1-dev-1"]),
    ("empty_training_text", ["corpus/data/train: text has 1 empty transcript(s)", "spk0-train-2"]),
    ("missing_audio", ["corpus/data/test: 1 audio file(s) in wav.scp do not exist"]),
    ("unsorted", ["corpus/data/train/utt2spk:2", "not sorted by key in C locale"]),
])
def test_data_src_refuses_a_bad_corpus_before_copying_anything(asr_recipe, tmp_path, case, messages):
    corpus = write_corpus(tmp_path / "corpus")
    corrupt(corpus, case)
    result = stage1(asr_recipe, "--data_src", str(corpus))
    assert result.returncode != 0
    for message in messages:
        assert message in result.stdout, (message, result.stdout[-2000:])
    assert "Traceback" not in result.stdout
    assert not (asr_recipe / "data" / "train").exists()   # every set is checked before one is copied


def test_data_src_refuses_no_dir_and_local_data_opts(asr_recipe, tmp_path):
    result = stage1(asr_recipe, "--data_src", str(tmp_path / "nowhere"))
    assert result.returncode != 0 and f"--data_src {tmp_path / 'nowhere'}: no such directory" in result.stdout
    corpus = write_corpus(tmp_path / "corpus")
    result = stage1(asr_recipe, "--data_src", str(corpus), "--local_data_opts", "--size tiny")
    assert result.returncode != 0
    assert "--local_data_opts '--size tiny' is for local/data.sh, which --data_src replaces" in result.stdout


def test_st_data_src_needs_the_transcripts_beside_the_translations(egs2, tmp_path):
    recipe = egs2 / "mycorpus" / "st1"
    assert setup_recipe(egs2, "st1", recipe).returncode == 0
    corpus = write_corpus(tmp_path / "corpus", extra_texts=["text.fr"])
    missing = stage1(recipe, "--data_src", str(corpus))   # run.sh's --src_lang en: text.en
    assert missing.returncode != 0
    assert "corpus/data/train/text.en not found" in missing.stdout
    assert "text.<src_lang> is the transcript" in missing.stdout
    ok = stage1(recipe, "--data_src", str(corpus), "--src_lang", "fr")
    assert ok.returncode == 0, ok.stdout
    assert sorted(os.listdir(recipe / "data/dev")) == ["text", "text.fr", "utt2spk", "wav.scp"]


# ---------------------------------------------------------------- end to end

@pytest.mark.slow
def test_a_kaldi_corpus_runs_end_to_end_from_setup_sh(egs2, tmp_path):
    """A 22.05 kHz, char-token corpus of its own set names, in Kaldi form: setup.sh, run.sh's choices, done."""
    from espnet_kd.corpora.mini_synth import generate_mini_synth
    from espnet_kd.utils.audio import resample

    # the user's corpus: espeak-ng speech resampled to 22.05 kHz, sets train/dev/eval, no spk2utt
    generate_mini_synth(tmp_path / "synth/wav", tmp_path / "synth/data", size="32:8:8", seed=1)
    corpus = tmp_path / "corpus"
    for dset, name in (("train", "train"), ("dev", "dev"), ("test", "eval")):
        synth = KaldiDataDir.load(tmp_path / "synth/data" / dset)
        texts = {}
        (corpus / "data" / name).mkdir(parents=True)
        (corpus / "wav").mkdir(exist_ok=True)
        scp = []
        for utt in synth.utt_ids:
            samples, rate = soundfile.read(synth.wav_scp[utt], dtype="int16")
            wav = corpus / "wav" / f"{utt}.wav"
            soundfile.write(wav, resample(samples, rate, RATE), RATE, subtype="PCM_16")
            scp.append(f"{utt} {wav}\n")
            texts[utt] = synth.text[utt]
        (corpus / "data" / name / "wav.scp").write_text("".join(scp))
        (corpus / "data" / name / "text").write_text("".join(f"{u} {texts[u]}\n" for u in synth.utt_ids))
        (corpus / "data" / name / "utt2spk").write_text("".join(f"{u} {synth.utt2spk[u]}\n" for u in synth.utt_ids))
    assert soundfile.info(str(next((corpus / "wav").iterdir()))).samplerate == RATE

    recipe = egs2 / "mycorpus" / "asr1"
    made = setup_recipe(egs2, "asr1", recipe, "--data_src", str(corpus / "data"))
    assert made.returncode == 0, made.stdout
    # the corpus's choices: one edit of run.sh
    run_sh = recipe / "run.sh"
    text = run_sh.read_text()
    assert '    --test_sets "dev test" \\\n' in text and '    --methods "baseline 1best topk:4 interp:wer" \\\n' in text
    run_sh.write_text(text.replace('--test_sets "dev test"', '--test_sets "eval"')
                      .replace('--methods "baseline 1best topk:4 interp:wer"', '--methods "baseline 1best"'))

    # one job per decode: each is a few utterances, and a job's start (ESPnet's imports) is most of its cost
    result = run_script(recipe, ["./run.sh", *TINY, "--nj", "1"], timeout=900)
    assert result.returncode == 0, result.stdout[-4000:]
    for stage in range(1, 12):
        assert re.search(rf"=== stage {stage} done in \d+ s", result.stdout), f"stage {stage} missing"
    assert "data/train: resampled 32 of 32 utterances to 16000 Hz (from 22050 Hz: 32)" in result.stdout
    assert sorted(os.listdir(recipe / "data")) == ["dev", "eval", "tokens", "train"]
    formatted = KaldiDataDir.load(recipe / "dump/raw/eval")
    assert {soundfile.info(path).samplerate for path in formatted.wav_scp.values()} == {16000}
    # the students, the teacher's 1-best labels, scores and the table
    seqkd = KaldiDataDir.load(recipe / "dump/raw/train_seqkd")
    assert seqkd.utt_ids == KaldiDataDir.load(recipe / "dump/raw/train").utt_ids
    for model in ("teacher", "student_baseline", "student_seqkd"):
        score = json.loads((recipe / "exp" / model / "decode_eval/score.json").read_text())
        assert score["wer"] >= 0
        assert not (recipe / "exp" / model / "decode_dev").exists()   # dev validates, is not decoded
    results = (recipe / "RESULTS.md").read_text()
    assert "mycorpus" in results and "eval WER (%)" in results
    for name in ("teacher", "baseline", "seqkd"):
        assert re.search(rf"^\| {name} \|", results, re.M), name
