"""Training-step cost of word-level KD against a CE-only student, on the embedded corpus's configs.

    .venv/bin/python bench/kd_step.py [--recipe egs2/mini_synth/asr1] [--num_utts 64] [--steps 8]

Prints, for one run: the mean time of one training step (forward, backward, optimiser
step; data loading excluded) of
  - the CE-only student (ESPnet's own model and loss),
  - the same student with word KD from the online teacher,
  - the same student with word KD from the cached top-k (``kd_topk`` stream),
as ratios to the CE step, and the cache's bytes per target token; and the same for
the ST setting (ST student, online MT teacher). Variants run in turn within each
round, so load from other processes hits them alike.

ASR: the recipe's trained teacher (``exp/teacher``), its char tokens and
``conf/train_student_wordkd.yaml``; data ``dump/raw/train`` (the first ``--num_utts``).
ST: ``egs2/mini_synth/st1/conf/{train_st,train_mt}.yaml`` with 200-piece
sentencepiece vocabularies trained here on the English transcripts, which serve
as both source and target text (the step cost depends on lengths and sizes, not
on the language); the MT teacher is randomly initialised (its weights do not change
the cost). Run on the CPU with one thread.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

import torch
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load_batches(task, args, triples, batch_size: int) -> List[Dict[str, torch.Tensor]]:
    loader = task.build_streaming_iterator(
        triples, preprocess_fn=task.build_preprocess_fn(args, True),
        collate_fn=task.build_collate_fn(args, True), batch_size=batch_size, dtype="float32",
        num_workers=0, allow_variable_data_keys=True)
    return [dict(batch, utt_id=uttids) for uttids, batch in loader]


def step_timer(model, batches) -> Callable[[], float]:
    """A function that runs one training step on the next batch and returns its seconds."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()
    state = {"i": 0}

    def step() -> float:
        batch = batches[state["i"] % len(batches)]
        state["i"] += 1
        batch = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
        start = time.perf_counter()
        loss, _, _ = model(**batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return time.perf_counter() - start

    return step


def measure(variants: Dict[str, Callable[[], float]], steps: int, warmup: int = 2) -> Dict[str, float]:
    for step in variants.values():
        for _ in range(warmup):
            step()
    times = {name: [] for name in variants}
    for _ in range(steps):
        for name, step in variants.items():
            times[name].append(step())
    return {name: statistics.mean(values) for name, values in times.items()}


def subset(path: Path, keys: List[str], out: Path) -> Path:
    lines = {line.split(maxsplit=1)[0]: line for line in path.read_text(encoding="utf-8").splitlines()}
    out.write_text("".join(lines[k] + "\n" for k in keys), encoding="utf-8")
    return out


def parse(task, argv):
    return task.get_parser().parse_args(argv)


def bench_asr(recipe: Path, work: Path, num_utts: int, steps: int) -> None:
    from espnet2.tasks.asr import ASRTask

    from espnet_kd.bin import dump_topk
    from espnet_kd.kd.topk_cache import TopKCache
    from espnet_kd.tasks.asr_word_kd import ASRWordKDTask

    teacher_config, teacher_file = recipe / "exp/teacher/config.yaml", recipe / "exp/teacher/valid.acc.ave.pth"
    train = recipe / "dump/raw/train"
    keys = sorted(line.split()[0] for line in (train / "text").read_text().splitlines())[:num_utts]
    data = work / "asr_data"
    data.mkdir()
    wav, text = subset(train / "wav.scp", keys, data / "wav.scp"), subset(train / "text", keys, data / "text")
    # wav.scp paths are relative to the recipe directory
    wav.write_text("".join(f"{k} {(recipe / p) if not Path(p).is_absolute() else p}\n"
                           for k, p in (l.split(maxsplit=1) for l in wav.read_text().splitlines())))
    cache = work / "asr_topk"
    student_yaml = recipe / "conf/train_student_wordkd.yaml"
    k = yaml.safe_load(student_yaml.read_text())["kd_topk"]
    dump_topk.main(["--teacher_kind", "asr", "--teacher_config", str(teacher_config),
                    "--teacher_model_file", str(teacher_file), "--out_dir", str(cache), "--k", str(k),
                    "--data_path_and_name_and_type", f"{wav},speech,sound",
                    "--data_path_and_name_and_type", f"{text},text,text"])
    teacher_args = yaml.safe_load(teacher_config.read_text())
    stats_file = teacher_args["normalize_conf"]["stats_file"]
    common = ["--config", str(student_yaml), "--output_dir", str(work / "asr_out"),
              "--token_type", "char", "--token_list", str(recipe / "data/tokens/tgt/tokens.txt"),
              "--normalize_conf", f"stats_file={recipe / stats_file}"]
    triples = [f"{wav},speech,sound", f"{text},text,text"]
    data_opts = sum([["--train_data_path_and_name_and_type", t] for t in triples], [])
    cache_opts = ["--train_data_path_and_name_and_type", f"{cache},kd_topk,kd_topk"]
    kd_opts = ["--kd_teacher_config", str(teacher_config), "--kd_teacher_model_file", str(teacher_file)]

    ce_config = ["--config", str(recipe / "conf/train_student.yaml")]  # same architecture, no kd_* keys
    ce_args = parse(ASRTask, common + data_opts + ce_config)
    online_args = parse(ASRWordKDTask, common + data_opts + kd_opts)
    cached_args = parse(ASRWordKDTask, common + data_opts + cache_opts + kd_opts)
    batch_size = ce_args.batch_size
    models = {}
    for name, task, args in (("CE", ASRTask, ce_args), ("KD online", ASRWordKDTask, online_args),
                             ("KD cached", ASRWordKDTask, cached_args)):
        torch.manual_seed(0)
        models[name] = (task.build_model(args), load_batches(task, args, args.train_data_path_and_name_and_type,
                                                             batch_size))
    assert models["KD cached"][0].teacher is None and models["KD online"][0].teacher is not None
    result = measure({name: step_timer(m, b) for name, (m, b) in models.items()}, steps)
    top = TopKCache(cache)
    report("ASR student, ASR teacher (mini_synth asr1)", result, models["CE"][0], models["KD online"][0].teacher,
           batch_size, steps, top.data_bytes() / top.num_positions(), k)


def bench_st(recipe_st: Path, asr_recipe: Path, work: Path, num_utts: int, steps: int) -> None:
    from espnet2.tasks.mt import MTTask
    from espnet2.tasks.st import STTask

    from espnet_kd.tasks.st_word_kd import STWordKDTask
    from espnet_kd.utils.tokens import train_bpe, write_token_list

    train = asr_recipe / "dump/raw/train"
    keys = sorted(line.split()[0] for line in (train / "text").read_text().splitlines())[:num_utts]
    data = work / "st_data"
    data.mkdir()
    wav, text = subset(train / "wav.scp", keys, data / "wav.scp"), subset(train / "text", keys, data / "text")
    wav.write_text("".join(f"{k} {(asr_recipe / p) if not Path(p).is_absolute() else p}\n"
                           for k, p in (l.split(maxsplit=1) for l in wav.read_text().splitlines())))
    all_texts = [l.split(maxsplit=1)[1] for l in (train / "text").read_text().splitlines()]
    tokens = train_bpe(all_texts, work / "bpe", 200)
    write_token_list(work / "tokens.txt", tokens)
    bpe = str(work / "bpe.model")
    vocab = ["--token_type", "bpe", "--token_list", str(work / "tokens.txt"), "--bpemodel", bpe]
    src_vocab = ["--src_token_type", "bpe", "--src_token_list", str(work / "tokens.txt"), "--src_bpemodel", bpe]
    mt_args = parse(MTTask, ["--config", str(recipe_st / "conf/train_mt.yaml"), "--output_dir", str(work / "mt"),
                             *vocab, *src_vocab])
    torch.manual_seed(1)
    mt = MTTask.build_model(mt_args)
    (work / "mt").mkdir()
    with open(work / "mt/config.yaml", "w") as handle:
        yaml.safe_dump(vars(mt_args), handle)
    torch.save(mt.state_dict(), work / "mt/model.pth")
    common = ["--config", str(recipe_st / "conf/train_st.yaml"), "--output_dir", str(work / "st_out"),
              *vocab, *src_vocab, "--normalize", "utterance_mvn"]
    data_opts = sum([["--train_data_path_and_name_and_type", t]
                     for t in (f"{wav},speech,sound", f"{text},text,text", f"{text},src_text,text")], [])
    kd_opts = ["--kd_teacher_config", str(work / "mt/config.yaml"), "--kd_teacher_model_file", str(work / "mt/model.pth"),
               "--kd_topk", "8"]
    ce_args = parse(STTask, common + data_opts)
    online_args = parse(STWordKDTask, common + data_opts + kd_opts)
    models = {}
    for name, task, args in (("CE", STTask, ce_args), ("KD online", STWordKDTask, online_args)):
        torch.manual_seed(0)
        models[name] = (task.build_model(args), load_batches(task, args, args.train_data_path_and_name_and_type,
                                                             ce_args.batch_size))
    result = measure({name: step_timer(m, b) for name, (m, b) in models.items()}, steps)
    report("ST student, MT teacher (mini_synth st1 configs)", result, models["CE"][0],
           models["KD online"][0].teacher, ce_args.batch_size, steps, None, 8)


def report(title, result, student, teacher, batch_size, steps, bytes_per_token, k) -> None:
    count = lambda m: sum(p.numel() for p in m.parameters()) / 1e6  # noqa: E731
    print(f"\n{title}: student {count(student):.3f} M params, teacher {count(teacher.model):.3f} M, "
          f"batch {batch_size}, mean of {steps} steps per variant")
    base = result["CE"]
    for name, seconds in result.items():
        print(f"  {name:10s} {seconds * 1000:8.1f} ms/step   {seconds / base:5.2f}x CE")
    if bytes_per_token is not None:
        print(f"  top-{k} cache: {bytes_per_token:.1f} bytes per target token (int32 ids + float16 log-probs)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", type=Path, default=ROOT / "egs2/mini_synth/asr1")
    parser.add_argument("--st_recipe", type=Path, default=ROOT / "egs2/mini_synth/st1")
    parser.add_argument("--num_utts", type=int, default=64)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    recipe = args.recipe.resolve()
    for need in ("exp/teacher/valid.acc.ave.pth", "dump/raw/train/text", "data/tokens/tgt/tokens.txt"):
        if not (recipe / need).exists():
            sys.exit(f"ERROR: {recipe / need} not found: run the recipe's stages 1-5 first")
    os.chdir(recipe)  # the teacher's config names its feature statistics relative to the recipe
    with tempfile.TemporaryDirectory() as work:
        bench_asr(recipe, Path(work), args.num_utts, args.steps)
        bench_st(args.st_recipe.resolve(), recipe, Path(work), args.num_utts, args.steps)


if __name__ == "__main__":
    main()
