"""GPU-hours per stage of the paper-scale recipes (WSJ asr1, MuST-C st1), from counted FLOPs.

    .venv/bin/python bench/paper_scale.py [--tflops 10] [--decode_tflops 1] [--corpus wsj must_c]
    .venv/bin/python bench/paper_scale.py --measure --device cuda     # the throughput measured on this GPU

Each model is built by ESPnet from the recipe's own config (``egs2/wsj/asr1/conf``,
``egs2/must_c/st1/conf``), so its parameters are counted, not assumed; the FLOPs of a stage follow
from them and the data (the assumptions below, each an option), and the GPU-hours from a stated
sustained throughput:

- training: 6 FLOPs per weight per frame or token it is applied to (forward 2, backward 4), plus the
  attention products (3·T·d MACs per frame and layer with relative positions, 2·T·d otherwise), the
  conv2d subsampling's convolutions at their positions, the CTC projection per frame; times the
  epochs of the config and the data per epoch (speed perturbation included); word KD from the
  online teacher adds a teacher forward per step, from the top-k cache nothing;
- the n-best and decoding stages: one encoder forward per utterance and, per output token, each of
  ``beam`` hypotheses through the decoder (incremental: its weights, attention over the encoder and
  the prefix) and, with CTC weight > 0, the CTC prefix score over 1.5·beam candidates and T frames;
  beam search runs small matrix products, hence its own, lower throughput ``--decode_tflops``;
- the top-k cache: one teacher-forced teacher forward over train and valid.

Throughput: ``--tflops`` is FLOPs the GPU sustains in training these models (fp32 as the configs
train, with the STFT, SpecAugment, CTC, padding and data loading), not its peak. The default, 10
TFLOP/s, is an assumption (not measured here: no GPU), about half of an A100's 19.5 fp32 peak;
``--decode_tflops`` 1 for beam search (small matrix products, one step at a time). ``--measure``
replaces both by a measurement: the median time of training steps of the recipe's speech model on
random audio of the mean length (ESPnet's model, forward + backward + Adam), whose counted FLOPs
over that time are the sustained TFLOP/s (beam search: a tenth of it).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FRAME_RATE = 100.0   # feature frames per second (hop 160 at 16 kHz)


@dataclass(frozen=True)
class Corpus:
    """The data of one recipe (the defaults are the corpora's published sizes; every one an option)."""

    name: str
    train_hours: float          # training audio (before speed perturbation)
    utt_seconds: float          # mean utterance duration
    tgt_tokens_per_utt: float   # target tokens per utterance (the recipe's BPE)
    src_tokens_per_utt: float   # source tokens (MT teacher input), 0 for ASR
    speed_perturb: float        # copies of the training audio per epoch
    decode_hours: float         # audio of the test sets, decoded by every model
    valid_hours: float


WSJ = Corpus("wsj", train_hours=81.3, utt_seconds=7.8, tgt_tokens_per_utt=27.0, src_tokens_per_utt=0.0,
             speed_perturb=1.0, decode_hours=1.8, valid_hours=1.1)
MUST_C = Corpus("must_c", train_hours=408.0, utt_seconds=6.3, tgt_tokens_per_utt=24.0, src_tokens_per_utt=23.0,
                speed_perturb=3.0, decode_hours=7.0, valid_hours=2.5)


def load_config(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def count_parameters(task, config: dict, vocab: int, src_vocab: Optional[int] = None) -> Dict[str, int]:
    """Build the model ESPnet builds from ``config`` (random weights) and count each part's parameters."""
    tokens = [f"t{i}" for i in range(vocab - 2)]
    argv = ["--token_list", ",".join(["<blank>", *tokens, "<sos/eos>"]), "--token_type", "bpe"]
    parser = task.get_parser()
    args = parser.parse_args(argv)
    for key, value in config.items():
        if hasattr(args, key) and key not in ("token_list",):
            setattr(args, key, value)
    args.token_list = ["<blank>", *tokens, "<sos/eos>"]
    if src_vocab is not None:
        args.src_token_list = ["<blank>", *[f"s{i}" for i in range(src_vocab - 2)], "<sos/eos>"]
        args.src_token_type = "bpe"
    if getattr(args, "normalize", None) == "global_mvn":
        args.normalize = "utterance_mvn"   # (no stats file: the same parameter count, none)
        args.normalize_conf = {}
    model = task.build_model(args)
    parts = {}
    for name, module in model.named_children():
        parts[name] = sum(p.numel() for p in module.parameters())
    embed = getattr(getattr(model, "encoder", None), "embed", None)
    parts["encoder.embed"] = sum(p.numel() for p in embed.parameters()) if embed is not None else 0
    dec_embed = getattr(getattr(model, "decoder", None), "embed", None)
    parts["decoder.embed"] = sum(p.numel() for p in dec_embed.parameters()) if dec_embed is not None else 0
    parts["total"] = sum(p.numel() for p in model.parameters())
    return parts


@dataclass
class ModelCost:
    """Forward MACs of one model per utterance, and its decode MACs per utterance."""

    name: str
    params: int
    forward_macs: float
    decode_macs: float


def model_cost(name: str, config: dict, parts: Dict[str, int], corpus: Corpus, speech: bool,
               beam: int = 8, ctc_weight: float = 0.0) -> ModelCost:
    enc, dec = config["encoder_conf"], config["decoder_conf"]
    d = enc["output_size"]
    n_enc, n_dec = enc["num_blocks"], dec["num_blocks"]
    rel = enc.get("pos_enc_layer_type") == "rel_pos"
    if speech:   # conv2d: 4× subsampling of 80-dim features
        t_in = corpus.utt_seconds * FRAME_RATE
        t_x = t_in / 4
        mels = config.get("frontend_conf", {}).get("n_mels", 80)
        conv = (t_in / 2) * (mels // 2) * d * 9 + t_x * (mels // 4) * d * d * 9   # the two 3×3 stride-2 convs
        conv_linear = parts["encoder.embed"] - 9 * d - 9 * d * d
    else:
        t_x = corpus.src_tokens_per_utt
        conv, conv_linear = 0.0, 0.0
    t_y = corpus.tgt_tokens_per_utt + 1
    enc_weights = parts["encoder"] - parts["encoder.embed"] + max(conv_linear, 0)
    enc_macs = t_x * enc_weights + conv + n_enc * (3 if rel else 2) * t_x * t_x * d
    dec_weights = parts["decoder"] - parts["decoder.embed"]
    dec_macs = t_y * dec_weights + n_dec * (2 * t_y * t_y * d + 2 * t_y * t_x * d)
    ctc_macs = t_x * parts.get("ctc", 0)
    forward = enc_macs + dec_macs + ctc_macs
    # beam search: each output step, every hypothesis one incremental decoder step (+ CTC prefix scoring)
    steps = t_y
    step_macs = dec_weights + n_dec * (steps * d + 2 * t_x * d)   # (attention over the prefix ~ steps/2, ×2 K/V)
    ctc_prefix = t_x * int(1.5 * beam) * 4 if ctc_weight > 0 else 0.0   # (element ops per frame and candidate)
    decode = enc_macs + ctc_macs + steps * beam * (step_macs + ctc_prefix)
    return ModelCost(name, parts["total"], forward, decode)


def utterances(corpus: Corpus, hours: float) -> float:
    return hours * 3600 / corpus.utt_seconds


def estimate(corpus: Corpus, tflops: float, decode_tflops: float) -> Tuple[List[tuple], Dict[str, ModelCost]]:
    """Rows (stage, model, params, epochs, PFLOP, GPU-hours) for one recipe."""
    from espnet2.tasks.asr import ASRTask
    from espnet2.tasks.mt import MTTask
    from espnet2.tasks.st import STTask

    train_utts = utterances(corpus, corpus.train_hours)
    valid_utts = utterances(corpus, corpus.valid_hours)
    test_utts = utterances(corpus, corpus.decode_hours)
    train_gpu = lambda macs: 2 * macs / (tflops * 1e12) / 3600          # noqa: E731
    decode_gpu = lambda macs: 2 * macs / (decode_tflops * 1e12) / 3600  # noqa: E731
    rows = []
    if corpus.name == "wsj":
        conf = ROOT / "egs2" / "wsj" / "asr1" / "conf"
        vocab = 500
        teacher_cfg, student_cfg = load_config(conf / "train_teacher.yaml"), load_config(conf / "train_student.yaml")
        nbest_cfg, decode_cfg = load_config(conf / "decode_nbest.yaml"), load_config(conf / "decode.yaml")
        teacher = model_cost("ASR teacher", teacher_cfg, count_parameters(ASRTask, teacher_cfg, vocab), corpus, True,
                             nbest_cfg["beam_size"], nbest_cfg["ctc_weight"])
        student = model_cost("ASR student", student_cfg, count_parameters(ASRTask, student_cfg, vocab), corpus, True,
                             decode_cfg["beam_size"], decode_cfg["ctc_weight"])
        teacher_test = model_cost("ASR teacher", teacher_cfg, {**count_parameters(ASRTask, teacher_cfg, vocab)},
                                  corpus, True, decode_cfg["beam_size"], decode_cfg["ctc_weight"])
        students = ["baseline", "seqkd", "topk4", "interpwer", "wordkd"]
        ft_epochs = load_config(conf / "train_student_wordkd_ft.yaml")["max_epoch"]
        models = {"teacher": teacher, "student": student}
        teacher_epochs, student_epochs = teacher_cfg["max_epoch"], student_cfg["max_epoch"]
        epoch_utts = train_utts * corpus.speed_perturb
        macs = 3 * teacher.forward_macs * (epoch_utts + valid_utts / 3) * teacher_epochs
        rows.append(("5 teacher", teacher.name, teacher.params, teacher_epochs, macs, train_gpu(macs)))
        macs = teacher.decode_macs * train_utts
        rows.append(("6 n-best", f"{teacher.name}, beam {nbest_cfg['beam_size']}", teacher.params, 1, macs,
                     decode_gpu(macs)))
        macs = teacher.forward_macs * (train_utts + valid_utts)
        rows.append(("8 top-k cache", teacher.name, teacher.params, 1, macs, train_gpu(macs)))
        per_student = 3 * student.forward_macs * (epoch_utts + valid_utts / 3) * student_epochs
        macs = per_student * len(students)
        rows.append(("8 students", f"{len(students)} × ASR student ({', '.join(students)})", student.params,
                     student_epochs, macs, train_gpu(macs)))
        macs = 3 * student.forward_macs * (epoch_utts + valid_utts / 3) * ft_epochs
        rows.append(("8 wordkd_ft (optional)", "ASR student", student.params, ft_epochs, macs, train_gpu(macs)))
        macs = teacher_test.decode_macs * test_utts + student.decode_macs * test_utts * len(students)
        rows.append(("9 decoding", f"teacher + {len(students)} students, beam {decode_cfg['beam_size']}",
                     None, 1, macs, decode_gpu(macs)))
    else:
        conf = ROOT / "egs2" / "must_c" / "st1" / "conf"
        vocab = 4000
        mt_cfg, st_cfg = load_config(conf / "train_mt.yaml"), load_config(conf / "train_st.yaml")
        nbest_cfg, decode_cfg = load_config(conf / "decode_mt_nbest.yaml"), load_config(conf / "decode_st.yaml")
        mt = model_cost("MT teacher", mt_cfg, count_parameters(MTTask, mt_cfg, vocab, vocab), corpus, False,
                        nbest_cfg["beam_size"], 0.0)
        st_parts = count_parameters(STTask, st_cfg, vocab, vocab)
        st = model_cost("ST student", st_cfg, st_parts, corpus, True, decode_cfg["beam_size"], 0.0)
        students = ["baseline", "seqkd", "interpbleu", "qebackward", "wordkd"]
        ft_epochs = load_config(conf / "finetune_st.yaml")["max_epoch"]
        mt_epochs, st_epochs = mt_cfg["max_epoch"], st_cfg["max_epoch"]
        macs = 3 * mt.forward_macs * (train_utts + valid_utts / 3) * mt_epochs
        rows.append(("5 MT teacher", mt.name, mt.params, mt_epochs, macs, train_gpu(macs)))
        rows.append(("6 backward MT", "MT (tgt→src)", mt.params, mt_epochs, macs, train_gpu(macs)))
        macs = mt.decode_macs * train_utts
        rows.append(("7 n-best", f"MT teacher, beam {nbest_cfg['beam_size']}", mt.params, 1, macs, decode_gpu(macs)))
        macs = mt.forward_macs * (train_utts + valid_utts)
        rows.append(("9 top-k cache", mt.name, mt.params, 1, macs, train_gpu(macs)))
        epoch_utts = train_utts * corpus.speed_perturb
        per_student = 3 * st.forward_macs * (epoch_utts + valid_utts / 3) * st_epochs
        macs = per_student * len(students)
        rows.append(("10 students", f"{len(students)} × ST student ({', '.join(students)})", st.params, st_epochs,
                     macs, train_gpu(macs)))
        macs = 3 * st.forward_macs * (epoch_utts + valid_utts / 3) * ft_epochs
        rows.append(("11 wordkd_ft", "ST student", st.params, ft_epochs, macs, train_gpu(macs)))
        macs = mt.decode_macs * test_utts + st.decode_macs * test_utts * (len(students) + 1)
        rows.append(("12 decoding", f"MT teacher + {len(students) + 1} students, beam {decode_cfg['beam_size']}",
                     None, 1, macs, decode_gpu(macs)))
        models = {"mt": mt, "st": st}
    return rows, models


def print_table(corpus: Corpus, rows: List[tuple], tflops: float, decode_tflops: float) -> None:
    print(f"\n### {corpus.name}: {corpus.train_hours:g} h of training audio (×{corpus.speed_perturb:g} speed "
          f"perturbation), {corpus.utt_seconds:g} s per utterance, {corpus.tgt_tokens_per_utt:g} target tokens "
          f"per utterance; {tflops:g} TFLOP/s training, {decode_tflops:g} TFLOP/s beam search\n")
    print("| stage | model | params | epochs | PFLOP | GPU-hours |")
    print("|---|---|---:|---:|---:|---:|")
    total = 0.0
    for stage, model, params, epochs, macs, hours in rows:
        total += hours
        params_text = f"{params / 1e6:.1f} M" if params else ""
        print(f"| {stage} | {model} | {params_text} | {epochs} | {2 * macs / 1e15:,.0f} | {hours:,.1f} |")
    print(f"| **total** | | | | | **{total:,.0f}** |")


def measure_tflops(corpus: Corpus, batch: int, steps: int, device: str) -> float:
    """Effective training TFLOP/s of the recipe's speech model on ``device``: counted FLOPs of a step of
    ``batch`` utterances of the mean length, over the measured time of forward + backward + optimiser step."""
    import time

    import torch
    from espnet2.tasks.asr import ASRTask
    from espnet2.tasks.st import STTask

    if corpus.name == "wsj":
        task, cfg, vocab = ASRTask, load_config(ROOT / "egs2/wsj/asr1/conf/train_teacher.yaml"), 500
    else:
        task, cfg, vocab = STTask, load_config(ROOT / "egs2/must_c/st1/conf/train_st.yaml"), 4000
    tokens = ["<blank>", *[f"t{i}" for i in range(vocab - 2)], "<sos/eos>"]
    args = task.get_parser().parse_args(["--token_list", ",".join(tokens), "--token_type", "bpe"])
    for key, value in cfg.items():
        if hasattr(args, key):
            setattr(args, key, value)
    args.token_list = tokens
    if corpus.name != "wsj":
        args.src_token_list, args.src_token_type = tokens, "bpe"
    args.normalize, args.normalize_conf = "utterance_mvn", {}
    model = task.build_model(args).to(device).train()
    cost = model_cost("measured", cfg, count_parameters(task, cfg, vocab, vocab if corpus.name != "wsj" else None),
                      corpus, True)
    optim = torch.optim.Adam(model.parameters(), lr=1e-4)
    samples, n_tok = int(corpus.utt_seconds * 16000), int(corpus.tgt_tokens_per_utt)
    inputs = dict(speech=torch.randn(batch, samples, device=device),
                  speech_lengths=torch.full((batch,), samples, device=device),
                  text=torch.randint(1, vocab - 1, (batch, n_tok), device=device),
                  text_lengths=torch.full((batch,), n_tok, device=device))
    times = []
    for step in range(steps + 1):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        loss = model(**inputs)[0]
        loss.backward()
        optim.step()
        optim.zero_grad()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if step:   # the first step warms up
            times.append(time.perf_counter() - start)
    seconds = sorted(times)[len(times) // 2]
    tflops = 6 * cost.forward_macs * batch / seconds / 1e12
    print(f"measured on {device}: {seconds:.3f} s per step of {batch} × {corpus.utt_seconds:g} s "
          f"({corpus.name} model, {cost.params / 1e6:.1f} M): {tflops:.2f} TFLOP/s effective")
    return tflops


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", nargs="+", default=["wsj", "must_c"], choices=["wsj", "must_c"])
    parser.add_argument("--tflops", type=float, default=10.0, help="sustained training TFLOP/s per GPU")
    parser.add_argument("--decode_tflops", type=float, default=1.0, help="sustained beam-search TFLOP/s per GPU")
    for corpus in (WSJ, MUST_C):
        for field in ("train_hours", "utt_seconds", "tgt_tokens_per_utt", "speed_perturb"):
            parser.add_argument(f"--{corpus.name}_{field}", type=float, default=getattr(corpus, field))
    parser.add_argument("--measure", action="store_true",
                        help="time training steps of each recipe's speech model on --device and use the "
                             "measured throughput instead of --tflops (beam search: --decode_tflops / 10 of it)")
    parser.add_argument("--device", default="cuda", help="for --measure: cuda or cpu")
    parser.add_argument("--measure_batch", type=int, default=32)
    parser.add_argument("--measure_steps", type=int, default=5)
    args = parser.parse_args(argv)
    for corpus in (WSJ, MUST_C):
        if corpus.name not in args.corpus:
            continue
        changed = Corpus(**{**corpus.__dict__, **{f: getattr(args, f"{corpus.name}_{f}") for f in
                                                  ("train_hours", "utt_seconds", "tgt_tokens_per_utt",
                                                   "speed_perturb")}})
        tflops, decode_tflops = args.tflops, args.decode_tflops
        if args.measure:
            tflops = measure_tflops(changed, args.measure_batch, args.measure_steps, args.device)
            decode_tflops = tflops / 10
        rows, _ = estimate(changed, tflops, decode_tflops)
        print_table(changed, rows, tflops, decode_tflops)


if __name__ == "__main__":
    main()
