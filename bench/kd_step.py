"""Training-step cost of word-level KD against a CE-only student, on the embedded corpus's configs.

    .venv/bin/python bench/kd_step.py [--recipe egs2/mini_synth/asr1] [--num_utts 64] [--steps 8] \
        [--kl_student_checkpoint egs2/mini_synth/asr1/exp/teacher/7epoch.pth] [--skip_st]

Prints, for one run: the mean time of one training step (forward, backward, optimiser
step; data loading excluded) of
  - the CE-only student (ESPnet's own model and loss),
  - the same student with word KD from the online teacher,
  - the same student with word KD from the cached top-k (``kd_topk`` stream, the default
    compact cache),
as ratios to the CE step; and the same for the ST setting (ST student, online MT
teacher). Variants run in turn within each round, so load from other processes hits
them alike.

For the ASR setting it also writes the same teacher top-k in each cache format (format /1:
int32 ids + float16 log-probs, as earlier versions wrote it; format /2 with fp16 and with
q8 log-probs, ``dump_topk --logp_encoding``) and prints per format: bytes per target
token measured from the files (the arrays; and every file, indexes and meta.json
included), the time to read one utterance's ``kd_topk`` array, and the relative error
of the word-KD loss (KL, top-k) computed from the cache's stream against the loss from
the float32 online teacher, for the bench's student (randomly initialised, as timed),
for the teacher as its own student (the hardest case: the loss is only the top-k's
missing mass) and for each ``--kl_student_checkpoint`` (e.g. an early checkpoint of the
teacher: a partly trained model of its architecture).

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
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

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


def write_v1_cache(source: Path, out: Path) -> Path:
    """``source`` (format /2 with fp16 log-probs) rewritten in the layout of format /1, as earlier
    versions wrote it: ``shard_NNNNN.ids.npy`` int32 and ``shard_NNNNN.logp.npy`` float16 (the same
    values), the same index, a meta.json without ``ids_dtype`` / ``logp_encoding``."""
    import numpy as np

    from espnet_kd.kd.topk_cache import FORMAT_V1, META_NAME, TopKCache, shard_stem

    cache = TopKCache(source)
    assert cache.meta.logp_encoding == "fp16"
    out.mkdir()
    for shard in range(cache.meta.num_shards):
        index = shard_stem(source, shard).with_suffix(".index").read_text()
        uttids = [line.split()[0] for line in index.splitlines()]
        stem = shard_stem(out, shard)
        np.save(stem.with_name(stem.name + ".ids.npy"), np.concatenate([cache[u][0] for u in uttids]).astype(np.int32))
        np.save(stem.with_name(stem.name + ".logp.npy"), np.concatenate([cache[u][1] for u in uttids]).astype(np.float16))
        stem.with_suffix(".index").write_text(index)
    meta = json.loads((source / META_NAME).read_text())
    meta.pop("ids_dtype"), meta.pop("logp_encoding")
    (out / META_NAME).write_text(json.dumps(dict(meta, format=FORMAT_V1), indent=2, sort_keys=True) + "\n")
    return out


def read_seconds(cache_dir: Path) -> float:
    """Mean seconds to read one utterance's ``kd_topk`` stream array (decoding included)."""
    from espnet_kd.kd.topk_cache import TopKStreamLoader

    loader = TopKStreamLoader(cache_dir)
    for uttid in loader:  # open the shards (mmap) first
        loader[uttid]
    start = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        for uttid in loader:
            loader[uttid]
    return (time.perf_counter() - start) / (rounds * len(loader))


def kl_errors(formats: Dict[str, List[Dict]], students: Dict[str, Callable], teacher, sos: int, eos: int,
              k: int, temperature: float) -> Dict[str, Dict[str, Tuple[float, float]]]:
    """``{format: {student: (relative error, KL nats per position)}}``: the word-KD loss (KL, top-k,
    summed over every batch) from each format's ``kd_topk`` stream against the loss from the float32
    online teacher's top-k. ``formats`` holds each format's batches (the same utterances in the same
    batches); ``students`` give decoder logits for a batch and its teacher-forced prefixes."""
    from espnet.nets.pytorch_backend.transformer.add_sos_eos import add_sos_eos

    from espnet_kd.kd.losses import teacher_topk, topk_loss
    from espnet_kd.kd.topk_cache import unpack_topk_stream

    totals = {name: {student: 0.0 for student in students} for name in formats}
    reference = {student: 0.0 for student in students}
    positions = 0
    first = next(iter(formats.values()))
    with torch.no_grad():
        for b, batch in enumerate(first):
            assert all(batches[b]["utt_id"] == batch["utt_id"] for batches in formats.values())
            ys_in, ys_out = add_sos_eos(batch["text"], sos, eos, -1)
            ys_in_lens = batch["text_lengths"] + 1
            positions += int(ys_in_lens.sum())
            size = batch["text"].size(0)  # topk_loss divides the batch's sum by its size
            ids, logp = teacher_topk(teacher.logits(batch, ys_in, ys_in_lens), k)
            logits = {student: logits_of(batch, ys_in, ys_in_lens) for student, logits_of in students.items()}
            for student, student_logits in logits.items():
                reference[student] += size * topk_loss(student_logits, ids, logp, ys_out, -1, temperature).item()
            for name, batches in formats.items():
                cached_ids, cached_logp = unpack_topk_stream(batches[b]["kd_topk"])
                length = ys_out.size(1)
                for student, student_logits in logits.items():
                    totals[name][student] += size * topk_loss(student_logits, cached_ids[:, :length],
                                                              cached_logp[:, :length], ys_out, -1, temperature).item()
    return {name: {student: (abs(total - reference[student]) / reference[student], reference[student] / positions)
                   for student, total in per_student.items()}
            for name, per_student in totals.items()}


def student_logits_fn(model) -> Callable:
    """Decoder logits of an ESPnet ASR model (eval mode) for a batch and its prefixes."""
    def logits(batch, ys_in, ys_in_lens):
        model.eval()
        encoder_out, encoder_lens = model.encode(batch["speech"], batch["speech_lengths"])
        return model.decoder(encoder_out, encoder_lens, ys_in, ys_in_lens)[0]
    return logits


def bench_asr(recipe: Path, work: Path, num_utts: int, steps: int,
              kl_checkpoints: Sequence[Path] = ()) -> None:
    from espnet2.tasks.asr import ASRTask

    from espnet_kd.bin import dump_topk
    from espnet_kd.tasks.asr_word_kd import ASRWordKDTask
    from espnet_kd.teacher import load_teacher

    teacher_config, teacher_file = recipe / "exp/teacher/config.yaml", recipe / "exp/teacher/valid.acc.ave.pth"
    train = recipe / "dump/raw/train"
    keys = sorted(line.split()[0] for line in (train / "text").read_text().splitlines())[:num_utts]
    data = work / "asr_data"
    data.mkdir()
    wav, text = subset(train / "wav.scp", keys, data / "wav.scp"), subset(train / "text", keys, data / "text")
    # wav.scp paths are relative to the recipe directory
    wav.write_text("".join(f"{k} {(recipe / p) if not Path(p).is_absolute() else p}\n"
                           for k, p in (l.split(maxsplit=1) for l in wav.read_text().splitlines())))
    cache = work / "asr_topk"  # the default format: 2, q8 log-probs
    student_yaml = recipe / "conf/train_student_wordkd.yaml"
    student_conf = yaml.safe_load(student_yaml.read_text())
    k = student_conf["kd_topk"]

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
    # the teacher's top-k in each format, dumped in the batches the online teacher sees below (the
    # same utterances padded alike), so a format's KD loss error is what its storage loses; and once
    # at another batch size (its error is the online teacher's own variation with the padding)
    fp16_dir, other_batch = work / "asr_topk_fp16", max(1, batch_size // 2)
    for out_dir, options in ((cache, []), (fp16_dir, ["--logp_encoding", "fp16"]),
                             (work / "asr_topk_fp16_b", ["--logp_encoding", "fp16", "--batch_size", str(other_batch)])):
        dump_topk.main(["--teacher_kind", "asr", "--teacher_config", str(teacher_config),
                        "--teacher_model_file", str(teacher_file), "--out_dir", str(out_dir), "--k", str(k),
                        "--data_path_and_name_and_type", f"{wav},speech,sound",
                        "--data_path_and_name_and_type", f"{text},text,text", "--batch_size", str(batch_size),
                        *options])
    cache_dirs = {"format /1 (int32 ids, fp16 log-probs)": write_v1_cache(fp16_dir, work / "asr_topk_v1"),
                  "format /2, fp16 log-probs": fp16_dir,
                  "format /2, q8 log-probs (default)": cache,
                  f"(format /2 fp16, dumped at batch {other_batch}: the online teacher's padding noise)":
                      work / "asr_topk_fp16_b"}
    models = {}
    for name, task, args in (("CE", ASRTask, ce_args), ("KD online", ASRWordKDTask, online_args),
                             ("KD cached", ASRWordKDTask, cached_args)):
        torch.manual_seed(0)
        models[name] = (task.build_model(args), load_batches(task, args, args.train_data_path_and_name_and_type,
                                                             batch_size))
    assert models["KD cached"][0].teacher is None and models["KD online"][0].teacher is not None
    result = measure({name: step_timer(m, b) for name, (m, b) in models.items()}, steps)
    report("ASR student, ASR teacher (mini_synth asr1)", result, models["CE"][0], models["KD online"][0].teacher,
           batch_size, steps)

    # the cache formats: size, read time, and the KD loss against the float32 online teacher
    online = models["KD online"][0]
    format_batches = {}
    for name, cache_dir in cache_dirs.items():
        format_args = parse(ASRWordKDTask, common + data_opts + kd_opts
                            + ["--train_data_path_and_name_and_type", f"{cache_dir},kd_topk,kd_topk"])
        format_batches[name] = load_batches(ASRWordKDTask, format_args, format_args.train_data_path_and_name_and_type,
                                            batch_size)
    students = {"bench student (random init)": student_logits_fn(online),
                "teacher as its own student": online.teacher.logits}
    for checkpoint in kl_checkpoints:
        other = load_teacher("asr", teacher_config, checkpoint)
        students[f"{checkpoint.name} ({teacher_config.parent.name} config)"] = other.logits
    errors = kl_errors(format_batches, students, online.teacher, online.sos, online.eos, k,
                       float(student_conf.get("kd_temperature", 1.0)))
    report_formats(cache_dirs, errors, k)


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
           models["KD online"][0].teacher, ce_args.batch_size, steps)


def report(title, result, student, teacher, batch_size, steps) -> None:
    count = lambda m: sum(p.numel() for p in m.parameters()) / 1e6  # noqa: E731
    print(f"\n{title}: student {count(student):.3f} M params, teacher {count(teacher.model):.3f} M, "
          f"batch {batch_size}, mean of {steps} steps per variant")
    base = result["CE"]
    for name, seconds in result.items():
        print(f"  {name:10s} {seconds * 1000:8.1f} ms/step   {seconds / base:5.2f}x CE")
    sys.stdout.flush()


def report_formats(cache_dirs: Dict[str, Path], errors, k: int) -> None:
    from espnet_kd.kd.topk_cache import TopKCache

    first = next(iter(errors.values()))
    print(f"\n  top-{k} cache formats ({TopKCache(next(iter(cache_dirs.values()))).num_positions()} target tokens; "
          "KD loss relative error against the float32 online teacher, KL per token in brackets):")
    for student, (_, kl) in first.items():
        print(f"    student: {student} (KL {kl:.4f} nats/token)")
    for name, cache_dir in cache_dirs.items():
        cache = TopKCache(cache_dir)
        positions = cache.num_positions()
        print(f"  {name}: ids {cache.meta.ids_dtype}, {cache.data_bytes() / positions:.1f} bytes/token "
              f"({cache.disk_bytes() / positions:.1f} with index and meta), "
              f"read {read_seconds(cache_dir) * 1e6:.0f} µs/utt")
        for student, (error, _) in errors[name].items():
            print(f"      {student:40s} KD loss rel. error {error:.1e}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", type=Path, default=ROOT / "egs2/mini_synth/asr1")
    parser.add_argument("--st_recipe", type=Path, default=ROOT / "egs2/mini_synth/st1")
    parser.add_argument("--num_utts", type=int, default=64)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--kl_student_checkpoint", type=Path, action="append", default=[],
                        help="another checkpoint of the teacher's config (e.g. exp/teacher/7epoch.pth) to "
                             "measure the cache formats' KD loss error with, as a partly trained student")
    parser.add_argument("--skip_st", action="store_true", help="the ASR setting only")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    recipe = args.recipe.resolve()
    for need in ("exp/teacher/valid.acc.ave.pth", "dump/raw/train/text", "data/tokens/tgt/tokens.txt"):
        if not (recipe / need).exists():
            sys.exit(f"ERROR: {recipe / need} not found: run the recipe's stages 1-5 first")
    checkpoints = [path.resolve() for path in args.kl_student_checkpoint]
    os.chdir(recipe)  # the teacher's config names its feature statistics relative to the recipe
    with tempfile.TemporaryDirectory() as work:
        bench_asr(recipe, Path(work), args.num_utts, args.steps, checkpoints)
        if not args.skip_st:
            bench_st(args.st_recipe.resolve(), recipe, Path(work), args.num_utts, args.steps)


if __name__ == "__main__":
    main()
