"""Seconds per training epoch of the embedded-corpus ASR models, today's setup against the options.

    cd egs2/mini_synth/asr1 && ./run.sh --stop_stage 4      # data, tokens, shapes, MVN stats
    ../../../.venv/bin/python ../../../bench/train_epoch.py --epochs 3 [--only teacher student]

Every setup trains with ESPnet's own trainer (``python -m espnet2.bin.asr_train``, the
call ``asr.sh`` makes) on the recipe's ``dump/raw/train`` for ``--epochs`` epochs,
validating on ``dump/raw/dev``; the seconds of each epoch (training + validation) are read
from the ``Nepoch results`` lines of its ``train.log`` (process start-up excluded), and
the table gives their median and the ratio to today's setup of the same model, measured
in the same run. The options (issue 13):

- ``features``: log-mel features extracted once per set (ESPnet's own ``DefaultFrontend``,
  written with kaldiio as ``feats.scp``/ark; the model is built with ``--input_size 40``,
  which makes ESPnet drop its front-end), so the STFT is not recomputed every epoch;
- ``bpe200+conv2d8``: 8× encoder subsampling instead of 4×; chars are too dense for it (CTC
  needs a frame per token: 0.56 frames per char at 8× on this corpus), so with 200
  sentencepiece tokens (≥ 1.3 frames per token);
- ``2 parallel``: two students trained at the same time, one torch thread each; the
  figure is one epoch's wall time divided by the number of models trained at once.

Validation-accuracy learning speed differs between setups; the last column gives each
setup's validation CTC CER at its last epoch, so a cheaper epoch that learns less shows it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from espnet_kd.utils.train_log import read_curves  # noqa: E402


@dataclass
class Setup:
    """One way of training one model."""

    model: str                  # teacher | student
    name: str
    config: str                 # relative to the recipe dir
    token: str = "char"         # char | bpe200
    features: bool = False      # extracted log-mel features instead of the waveform front-end
    parallel: int = 1           # models trained at the same time (one thread each when > 1)
    extra: List[str] = field(default_factory=list)


SETUPS = [
    Setup("teacher", "today (char, conv2d)", "conf/train_teacher.yaml"),
    Setup("teacher", "features", "conf/train_teacher.yaml", features=True),
    Setup("teacher", "bpe200+conv2d8", "conf/train_teacher.yaml", token="bpe200",
          extra=["--encoder_conf", "input_layer=conv2d8"]),
    Setup("student", "today (char, conv2d)", "conf/train_student.yaml"),
    Setup("student", "features", "conf/train_student.yaml", features=True),
    Setup("student", "bpe200+conv2d8", "conf/train_student.yaml", token="bpe200",
          extra=["--encoder_conf", "input_layer=conv2d8"]),
    Setup("student", "2 parallel", "conf/train_student.yaml", parallel=2),
    Setup("student", "2 parallel, features", "conf/train_student.yaml", features=True, parallel=2),
]


def run(cmd: List[str], **kwargs) -> None:
    subprocess.run(cmd, check=True, **kwargs)


def prepare_bpe(recipe: Path, scratch: Path) -> Path:
    """200-piece sentencepiece tokens and shape files for train/dev, under scratch/bpe200."""
    out = scratch / "bpe200"
    if (out / "tokens" / "tokens.txt").is_file():
        return out
    run([sys.executable, "-m", "espnet_kd.bin.make_tokens", "--token_type", "bpe", "--nbpe", "200",
         "--text", str(recipe / "dump/raw/train/text"), "--out_dir", str(out / "tokens")])
    for dset in ("train", "dev"):
        run([sys.executable, "-m", "espnet_kd.bin.make_shapes", "--data_dir", str(recipe / "dump/raw" / dset),
             "--out_dir", str(out / "shapes" / dset), "--token_list", str(out / "tokens/tokens.txt"),
             "--token_type", "bpe", "--bpemodel", str(out / "tokens/bpe.model")])
    return out


def prepare_features(recipe: Path, scratch: Path, config: Path) -> Path:
    """log-mel features of train/dev with ESPnet's DefaultFrontend (the config's front-end), as kaldiio arks."""
    out = scratch / "feats"
    if (out / "dev" / "feats_shape").is_file():
        return out
    import kaldiio
    import soundfile
    import torch
    import yaml
    from espnet2.asr.frontend.default import DefaultFrontend

    frontend_conf = dict(yaml.safe_load(config.read_text())["frontend_conf"], fs=16000)
    frontend = DefaultFrontend(**frontend_conf).eval()
    for dset in ("train", "dev"):
        (out / dset).mkdir(parents=True, exist_ok=True)
        shapes = []
        with kaldiio.WriteHelper(f"ark,scp:{out / dset / 'feats.ark'},{out / dset / 'feats.scp'}") as writer:
            for line in (recipe / "dump/raw" / dset / "wav.scp").read_text().splitlines():
                utt, path = line.split(maxsplit=1)
                audio, _ = soundfile.read(path, dtype="float32")
                with torch.no_grad():
                    feats, _ = frontend(torch.from_numpy(audio)[None], torch.tensor([len(audio)]))
                writer(utt, feats[0].numpy())
                shapes.append(f"{utt} {feats.shape[1]},{feats.shape[2]}")
        (out / dset / "feats_shape").write_text("\n".join(shapes) + "\n")
    return out


def train_command(recipe: Path, setup: Setup, out_dir: Path, epochs: int, scratch: Path) -> List[str]:
    """The asr_train call asr.sh's run_training makes, with the setup's changes."""
    token_dir, shape_dir, token_type = recipe / "data/tokens/tgt", recipe / "exp/shapes", "char"
    token_opts: List[str] = []
    if setup.token == "bpe200":
        bpe = prepare_bpe(recipe, scratch)
        token_dir, shape_dir, token_type = bpe / "tokens", bpe / "shapes", "bpe"
        token_opts = ["--bpemodel", str(token_dir / "bpe.model")]
    cmd = [sys.executable, "-m", "espnet2.bin.asr_train", "--config", str(recipe / setup.config),
           "--output_dir", str(out_dir), "--ngpu", "0", "--seed", "0", "--use_preprocessor", "true",
           "--token_type", token_type, "--token_list", str(token_dir / "tokens.txt"), *token_opts,
           "--normalize_conf", f"stats_file={recipe / 'exp/asr_stats/train/feats_stats.npz'}",
           "--max_epoch", str(epochs), "--keep_nbest_models", "1",
           "--use_matplotlib", "false", "--use_tensorboard", "false", "--use_wandb", "false"]
    for mode, dset in (("train", "train"), ("valid", "dev")):
        if setup.features:
            feats = prepare_features(recipe, scratch, recipe / setup.config)
            cmd += [f"--{mode}_data_path_and_name_and_type", f"{feats / dset / 'feats.scp'},speech,kaldi_ark",
                    f"--{mode}_shape_file", str(feats / dset / "feats_shape")]
        else:
            cmd += [f"--{mode}_data_path_and_name_and_type", f"{recipe / 'dump/raw' / dset / 'wav.scp'},speech,sound",
                    f"--{mode}_shape_file", str(shape_dir / dset / "speech_shape")]
        cmd += [f"--{mode}_data_path_and_name_and_type", f"{recipe / 'dump/raw' / dset / 'text'},text,text",
                f"--{mode}_shape_file", str(shape_dir / dset / f"text_shape.{token_type}")]
    if setup.features:
        cmd += ["--input_size", "40", "--fold_length", "800", "--fold_length", "150"]   # no front-end: ESPnet drops it
    else:
        cmd += ["--frontend_conf", "fs=16000", "--fold_length", "80000", "--fold_length", "150"]
    return cmd + setup.extra


@dataclass
class Measured:
    seconds_per_epoch: float     # median epoch wall time / models trained at once
    cer_ctc: Optional[float]     # validation CTC CER at the last epoch


def measure(recipe: Path, setup: Setup, epochs: int, scratch: Path, threads: int) -> Measured:
    """Train the setup (``parallel`` copies at once) and read the epoch times from train.log."""
    env = dict(os.environ)
    per_job_threads = 1 if setup.parallel > 1 else threads
    env.update(OMP_NUM_THREADS=str(per_job_threads), MKL_NUM_THREADS=str(per_job_threads))
    jobs = []
    for copy in range(setup.parallel):
        out_dir = Path(tempfile.mkdtemp(prefix=f"{setup.model}_", dir=scratch))
        log = open(out_dir / "train.log", "w")
        cmd = train_command(recipe, setup, out_dir, epochs, scratch)
        jobs.append((subprocess.Popen(cmd, cwd=recipe, env=env, stdout=log, stderr=subprocess.STDOUT), out_dir, log))
    for process, out_dir, log in jobs:
        if process.wait() != 0:
            log.close()
            tail = (out_dir / "train.log").read_text().splitlines()[-15:]
            raise SystemExit(f"{setup.model} / {setup.name} failed:\n" + "\n".join(tail))
        log.close()
    epoch_seconds, cers = [], []
    for _, out_dir, _ in jobs:
        records = read_curves(out_dir)
        epoch_seconds += [(r.train_seconds or 0.0) + (r.valid_seconds or 0.0) for r in records]
        cers.append(records[-1].valid.get("cer_ctc"))
    cer = statistics.mean(c for c in cers if c is not None) if any(c is not None for c in cers) else None
    return Measured(statistics.median(epoch_seconds) / setup.parallel, cer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", type=Path, default=Path.cwd(), help="a mini_synth/asr1 dir after stage 4")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads of a model trained alone")
    parser.add_argument("--only", nargs="*", default=["teacher", "student"], help="models to measure")
    parser.add_argument("--setups", nargs="*", default=None, help="setup names to run (default: all)")
    args = parser.parse_args()
    recipe = args.recipe.resolve()
    for needed in ("dump/raw/train/wav.scp", "dump/raw/dev/wav.scp", "exp/asr_stats/train/feats_stats.npz"):
        if not (recipe / needed).exists():
            raise SystemExit(f"ERROR: {recipe / needed} not found: run ./run.sh --stop_stage 4 in {recipe}")
    with tempfile.TemporaryDirectory(prefix="train_epoch_") as tmp:
        scratch = Path(tmp)
        results: Dict[str, Dict[str, Measured]] = {}
        for setup in SETUPS:
            if setup.model not in args.only or (args.setups and setup.name not in args.setups):
                continue
            print(f"# {setup.model}: {setup.name} ...", file=sys.stderr, flush=True)
            results.setdefault(setup.model, {})[setup.name] = measure(recipe, setup, args.epochs, scratch, args.threads)
    print(f"| model | setup | s/epoch | × today | valid CTC CER after {args.epochs} epochs |")
    print("|---|---|---|---|---|")
    for model, by_setup in results.items():
        today = next((m for name, m in by_setup.items() if name.startswith("today")), None)
        for name, measured in by_setup.items():
            ratio = f"{today.seconds_per_epoch / measured.seconds_per_epoch:.2f}" if today else "—"
            cer = "—" if measured.cer_ctc is None else f"{measured.cer_ctc:.3f}"
            print(f"| {model} | {name} | {measured.seconds_per_epoch:.1f} | {ratio} | {cer} |")


if __name__ == "__main__":
    main()
