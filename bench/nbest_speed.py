#!/usr/bin/env python3
"""Throughput of teacher n-best generation: ESPnet's stock decoder vs espnet_kd's batched engine.

Decodes the same utterances, in one process and with the same torch threads,
with ``espnet2.bin.asr_inference.Speech2Text`` (batch size 1, ESPnet's
``BatchBeamSearch``) and with :mod:`espnet_kd.nbest` at several batch sizes;
prints utterances per second, the ratio to ESPnet, and how often the two agree
(1-best tokens, every n-best rank, largest 1-best score difference)::

    cd egs2/mini_synth/asr1   # after ./run.sh --stop_stage 5 (a trained teacher)
    python ../../../bench/nbest_speed.py --model_dir exp/teacher --data_dir dump/raw/train \\
        --num_utts 200 --beam_size 8 --nbest 4 --batch_sizes 1 8 32 64

Both decoders get the encoder time of every utterance (each encodes it alone).
Timings on a shared machine are noisy: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import torch


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", type=Path, required=True, help="config.yaml + valid.acc.ave.pth")
    parser.add_argument("--model_file", default="valid.acc.ave.pth")
    parser.add_argument("--data_dir", type=Path, required=True, help="a dir with wav.scp")
    parser.add_argument("--num_utts", type=int, default=200)
    parser.add_argument("--beam_size", type=int, default=8)
    parser.add_argument("--nbest", type=int, default=4)
    parser.add_argument("--ctc_weight", type=float, default=0.3)
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--threads", type=int, default=2, help="torch threads for both decoders")
    parser.add_argument("--device", default="cpu")
    return parser.parse_args(argv)


def load_utterances(data_dir: Path, count: int) -> List[Tuple[str, torch.Tensor]]:
    """The first ``count`` utterances of ``wav.scp`` as float32 waveforms."""
    import soundfile

    utterances = []
    for line in (data_dir / "wav.scp").read_text().splitlines()[:count]:
        utt, path = line.split(maxsplit=1)
        samples, _ = soundfile.read(path, dtype="float32")
        utterances.append((utt, torch.from_numpy(samples)))
    return utterances


def run_espnet(args, utterances) -> Tuple[float, Dict[str, list]]:
    """ESPnet's Speech2Text on every utterance: seconds and {utt: [(tokens, score)]}."""
    from espnet2.bin.asr_inference import Speech2Text

    speech2text = Speech2Text(
        asr_train_config=str(args.model_dir / "config.yaml"),
        asr_model_file=str(args.model_dir / args.model_file),
        beam_size=args.beam_size, ctc_weight=args.ctc_weight, lm_weight=0.0, penalty=0.0,
        nbest=args.nbest, device=args.device,
    )
    results = {}
    start = time.perf_counter()
    for utt, speech in utterances:
        results[utt] = [(token_int, float(hyp.score)) for _, _, token_int, hyp in speech2text(speech)]
    return time.perf_counter() - start, results


def run_ours(args, utterances, batch_size: int) -> Tuple[float, Dict[str, list]]:
    """espnet_kd's engine (encode each utterance, sort by length, batched search)."""
    from espnet_kd.nbest.beam_search import BeamSearchOptions
    from espnet_kd.nbest.engine import BatchingOptions, EncodedUtterance, build_search, make_batches
    from espnet_kd.nbest.engine import search_batch
    from espnet_kd.teacher import load_teacher

    teacher = load_teacher("asr", args.model_dir / "config.yaml", args.model_dir / args.model_file, args.device)
    options = BeamSearchOptions(beam_size=args.beam_size, nbest=args.nbest, ctc_weight=args.ctc_weight)
    search = build_search(teacher, options)
    results = {}
    start = time.perf_counter()
    encoded = [
        EncodedUtterance(utt, teacher.encode_utterance(speech[None].to(args.device), torch.tensor([len(speech)])))
        for utt, speech in utterances
    ]
    for batch in make_batches(encoded, BatchingOptions(batch_size=batch_size)):
        for item, hyps in zip(batch, search_batch(search, batch, args.device)):
            results[item.utt] = [(hyp.token_ids, hyp.score) for hyp in hyps]
    return time.perf_counter() - start, results


def agreement(reference: Dict[str, list], ours: Dict[str, list]) -> Tuple[float, float, float]:
    """Share of utterances with the same 1-best, with the same whole n-best, and the
    largest 1-best score difference where the 1-bests agree."""
    same_best = [utt for utt in reference if reference[utt][0][0] == ours[utt][0][0]]
    same_all = [utt for utt in reference if [t for t, _ in reference[utt]] == [t for t, _ in ours[utt]]]
    largest = max((abs(reference[u][0][1] - ours[u][0][1]) for u in same_best), default=float("nan"))
    return len(same_best) / len(reference), len(same_all) / len(reference), largest


def main(argv: Sequence[str]) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    utterances = load_utterances(args.data_dir, args.num_utts)
    n = len(utterances)
    print(f"# {n} utterances of {args.data_dir}, beam {args.beam_size}, nbest {args.nbest}, "
          f"ctc_weight {args.ctc_weight}, {args.threads} torch thread(s), {args.device}")
    # warm-up (first-call allocations) on a few utterances, for both
    run_espnet(args, utterances[:2])
    run_ours(args, utterances[:2], 2)
    espnet_seconds, reference = run_espnet(args, utterances)
    espnet_rate = n / espnet_seconds
    print(f"ESPnet Speech2Text (batch 1): {espnet_rate:.2f} utt/s ({espnet_seconds:.1f} s)")
    print("| decoder | batch size | utt/s | × ESPnet | same 1-best | same n-best | max Δscore (1-best) |")
    print("|---|---|---|---|---|---|---|")
    print(f"| ESPnet `asr_inference` | 1 | {espnet_rate:.2f} | 1.0 | — | — | — |")
    for batch_size in args.batch_sizes:
        seconds, ours = run_ours(args, utterances, batch_size)
        best, whole, largest = agreement(reference, ours)
        print(f"| espnet_kd | {batch_size} | {n / seconds:.2f} | {espnet_seconds / seconds:.1f} | "
              f"{100 * best:.1f}% | {100 * whole:.1f}% | {largest:.1e} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
