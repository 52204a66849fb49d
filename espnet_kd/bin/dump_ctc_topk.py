"""Dump a frozen ASR teacher's CTC top-k per encoder frame, for offline CTC-branch KD.

Usage::

    python -m espnet_kd.bin.dump_ctc_topk \\
        --teacher_config exp/teacher/config.yaml --teacher_model_file exp/teacher/valid.acc.ave.pth \\
        --data_path_and_name_and_type dump/raw/train/wav.scp,speech,sound \\
        --data_path_and_name_and_type dump/raw/train/text,text,text \\
        --out_dir exp/teacher/topk_ctc_train --k 8 [--num_shards 4 --shards 0 2]

The teacher encodes each utterance's speech (``model.encode``) and keeps, at every encoder
frame, the ``k`` most likely outputs of its CTC branch (``model.ctc.log_softmax``, blank
included) and their log-posteriors at temperature 1: what CTC KD distils
(:mod:`espnet_kd.kd.ctc_kd`). The utterances are those of the ``text`` stream (every stream
must hold them, as for ``dump_topk``); an utterance of ``T`` encoder frames has ``T``
positions. Each utterance is encoded alone, so that its posteriors and frames are its own
whatever the training batches are: ESPnet's encoders are not padding-invariant, and in a
padded batch they count a few frames more for the shorter utterances (frames computed from
the padding), which CTC KD leaves out (:func:`espnet_kd.kd.ctc_kd.valid_encoder_frames`).

The cache is the top-k cache of :mod:`espnet_kd.kd.topk_cache`, written and read by its
own classes (whatever encoding that format has: ``--logp_encoding``), so it resumes, shards
and locks as ``python -m espnet_kd.bin.dump_topk`` does (``build.json`` first, finished
shards skipped, ``meta.json`` last). Its ``meta.json`` ``extra`` says what its positions are
(``"positions": "ctc_frames"``), the blank id, and the teacher config's settings that decide
its encoder frames (``encoder_frames``: frontend, hop_length, encoder, input_layer), which the
training checks against the student's. Training reads it as the data stream
``<dir>,kd_ctc_topk,kd_ctc_topk``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from espnet_kd.bin.dump_topk import (
    dump_missing_shards, parse_triple, run_with_shard_locks, selected_shards, shard_loader, utterance_ids,
)
from espnet_kd.kd.ctc_kd import CTC_DATA_TYPE, CTC_POSITIONS, DEFAULT_CTC_TOPK, encoder_frame_config
from espnet_kd.kd.topk_cache import (
    DEFAULT_LOGP_ENCODING,
    LOGP_ENCODINGS,
    TopKCacheError,
    TopKCacheMeta,
    write_shard,
)
from espnet_kd.teacher import Teacher, TeacherError, load_teacher
from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.fileio import InputError
from espnet_kd.utils.fingerprint import file_sha256

PROG = "dump_ctc_topk"


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m espnet_kd.bin.{PROG}", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser, [
        ("teacher_config", dict(type=Path, required=True, help="the ASR teacher's config.yaml")),
        ("teacher_model_file", dict(type=Path, required=True, help="the teacher's checkpoint")),
        ("data_path_and_name_and_type", dict(action="append", required=True,
                                              help="PATH,NAME,TYPE as for ESPnet (repeat): speech and text")),
        ("out_dir", dict(type=Path, required=True, help="the cache directory (exp/teacher/topk_ctc_<set>)")),
        ("k", dict(type=int, default=DEFAULT_CTC_TOPK, help="CTC outputs kept per encoder frame")),
        ("logp_encoding", dict(choices=LOGP_ENCODINGS, default=DEFAULT_LOGP_ENCODING,
                               help="how the log-posteriors are stored (as dump_topk --logp_encoding)")),
        ("num_shards", dict(type=int, default=1, help="shards the utterances are split into")),
        ("shards", dict(type=int, nargs="+", default=None, help="the shards to dump (default: all)")),
        ("device", dict(default="cpu")),
    ])
    return parser


def ctc_topk(teacher: Teacher, batch: Dict, k: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The teacher's CTC top-k on a collated batch: ids, log-posteriors ``(B, T, k)`` and frames ``(B,)``."""
    logp, lengths = teacher.ctc_log_probs(batch)
    values, ids = logp.topk(k, dim=-1)
    return ids.cpu().numpy(), values.cpu().numpy(), lengths.cpu().numpy()


def dump_shard(teacher: Teacher, triples, keys: List[str], out_dir: Path, shard: int, meta: TopKCacheMeta,
               device: str) -> None:
    """Encode every utterance of one shard, one at a time, and write its CTC top-k per encoder frame."""
    loader, key_file = shard_loader(teacher, triples, keys, out_dir, shard, batch_size=1)
    found: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
    for uttids, batch in loader:
        batch = {name: value.to(device) for name, value in batch.items()}
        ids, logp, lengths = ctc_topk(teacher, batch, meta.k)
        for i, uttid in enumerate(uttids):
            n = int(lengths[i])
            if n < 1:
                raise TopKCacheError(f"utterance '{uttid}' is too short for the teacher's encoder (0 frames)")
            found[uttid] = (ids[i, :n], logp[i, :n])
    write_shard(out_dir, shard, [(key, *found[key]) for key in keys], meta)
    key_file.unlink()


def main(argv: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    setup_logging()
    run_with_shard_locks(args, run_dump)


def run_dump(args: argparse.Namespace) -> None:
    """The dump of :func:`main`, its options parsed and its shards locked."""
    try:
        triples = [parse_triple(value) for value in args.data_path_and_name_and_type]
        if "speech" not in {name for _, name, _ in triples}:
            raise TopKCacheError("the ASR teacher reads 'speech': add '<dir>/wav.scp,speech,sound' to "
                                 "--data_path_and_name_and_type")
        if args.num_shards < 1 or args.k < 1:
            raise TopKCacheError("--num_shards and --k must be positive")
        shards = selected_shards(args)
        uttids = utterance_ids(triples)
        teacher = load_teacher("asr", args.teacher_config, args.teacher_model_file, args.device)
        if teacher.ctc is None:
            raise TeacherError(f"the teacher {args.teacher_config} has no CTC branch (its model_conf.ctc_weight "
                               "is 0): there is nothing for CTC KD to dump")
        vocab_size = len(teacher.token_list)
        if not 1 <= args.k <= vocab_size:
            raise TopKCacheError(f"--k {args.k} must be between 1 and the vocabulary size {vocab_size}")
        meta = TopKCacheMeta(
            k=args.k, temperature=1.0, teacher_kind="asr",
            teacher_sha256=teacher.fingerprint(), teacher_model_file=str(args.teacher_model_file),
            token_list_hash=teacher.token_list_hash, vocab_size=vocab_size,
            num_shards=args.num_shards, logp_encoding=args.logp_encoding,
            extra={"positions": CTC_POSITIONS, "stream": CTC_DATA_TYPE,
                   "blank_id": int(getattr(teacher.model, "blank_id", 0)),
                   "encoder_frames": encoder_frame_config(vars(teacher.train_args)),
                   "data": [",".join(triple) for triple in triples], "utterances": len(uttids),
                   "data_sha256": {path: file_sha256(path) for path, _, _ in triples}},
        )
        dump_missing_shards(
            args.out_dir, shards, uttids, meta,
            lambda shard, keys: dump_shard(teacher, triples, keys, args.out_dir, shard, meta, args.device),
            f"CTC top-{args.k} per encoder frame")
    except (TopKCacheError, TeacherError, InputError, OSError) as error:
        fail(str(error))


if __name__ == "__main__":
    main()
