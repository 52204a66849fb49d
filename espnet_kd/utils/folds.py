"""Held-out teachers: a training set split into K folds, one teacher per fold that has not seen it.

A teacher distilled on its own training set gives back what it memorised: on the embedded corpus the MT
teacher's top-8 puts 0.91 on each training reference's word and 0.03 on its synonym, against 0.49 and 0.36
on dev (README, "Speech translation with translation alternatives"). With ``--teacher_folds K`` a recipe
trains K more teachers, teacher k on every fold but k, and labels fold k (n-best, top-k cache) with
teacher k only, so every training utterance is labelled by a teacher that never saw it (the
cross-validation labelling of jackknife / K-fold pseudo-labelling).

This module holds the three steps that are not ESPnet training or decoding:

- :func:`assign_folds` / :func:`split_folds`: utterance ``i`` of the training set in C-locale order goes
  to fold ``i mod K + 1`` (speakers and sentences spread over the folds as the ids interleave), and
  ``<out_dir>/fold<k>/{heldout,rest}/`` are written as Kaldi data dirs (every per-utterance table
  filtered, ``spk2utt`` remade), with ``folds.json`` (K, the sizes, the source dir's sha256);
- :func:`merge_fold_nbest`: the folds' ``nbest.jsonl`` lists joined into one in the training set's
  order, each fold's teacher recorded in ``summary.json`` (``fold_models``);
- :func:`merge_fold_topk`: the folds' top-k caches joined into one cache (their shards renumbered,
  every setting but the teacher checked equal), whose ``meta.json`` names each fold's teacher
  (``extra.fold_teachers``) and whose ``teacher_sha256`` is the digest of theirs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Dict, Sequence

from espnet_kd.kd.topk_cache import (
    BUILD_NAME,
    FORMAT,
    META_NAME,
    TopKCache,
    TopKCacheMeta,
    shard_data_path,
    shard_stem,
)
from espnet_kd.utils.fileio import InputError, PathLike, atomic_dir, atomic_write
from espnet_kd.utils.kaldi_dir import KaldiDataDir, c_sorted

FOLDS_NAME = "folds.json"
HELDOUT = "heldout"   # fold k's utterances: what teacher k labels
REST = "rest"         # every other fold: what teacher k trains on


class FoldError(InputError):
    """Folds that cannot be made or joined (too few utterances, overlapping or missing folds)."""


def check_num_folds(num_folds: int, num_utts: int) -> None:
    """K must be at least 2 and leave every fold an utterance."""
    if num_folds < 2:
        raise FoldError(f"--num_folds must be at least 2, not {num_folds}")
    if num_folds > num_utts:
        raise FoldError(f"{num_folds} folds of {num_utts} utterances: every fold needs one")


def assign_folds(utt_ids: Sequence[str], num_folds: int) -> Dict[str, int]:
    """``{utt: fold}``, folds numbered 1..K: the ``i``-th id in C-locale order goes to fold ``i mod K + 1``."""
    check_num_folds(num_folds, len(set(utt_ids)))
    return {utt: index % num_folds + 1 for index, utt in enumerate(c_sorted(set(utt_ids)))}


def fold_dir(out_dir: PathLike, fold: int, part: str) -> Path:
    """``<out_dir>/fold<k>/<part>``, ``part`` :data:`HELDOUT` or :data:`REST`."""
    return Path(out_dir) / f"fold{fold}" / part


def tree_sha256(data_dir: Path) -> str:
    """The sha256 of a data dir's files (names and bytes, in name order; dot files left out)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in data_dir.iterdir() if p.is_file() and not p.name.startswith(".")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def split_folds(data_dir: PathLike, num_folds: int, out_dir: PathLike) -> Dict[str, object]:
    """Write ``<out_dir>/fold<k>/{heldout,rest}/`` for k = 1..K and ``<out_dir>/folds.json`` (returned).

    ``out_dir`` is built under a temporary name and renamed when complete (an existing one is replaced).
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    source = KaldiDataDir.load(data_dir)
    folds = assign_folds(source.utt_ids, num_folds)
    sizes = [sum(1 for utt_fold in folds.values() if utt_fold == fold) for fold in range(1, num_folds + 1)]
    record: Dict[str, object] = {
        "num_folds": num_folds,
        "data_dir": str(data_dir),
        "data_sha256": tree_sha256(data_dir),
        "utterances": len(folds),
        "heldout_utterances": sizes,
        "assignment": "utterance i in C-locale order -> fold i mod K + 1",
    }
    with atomic_dir(out_dir) as tmp_dir:
        for fold in range(1, num_folds + 1):
            source.subset([utt for utt, f in folds.items() if f == fold]).write(fold_dir(tmp_dir, fold, HELDOUT))
            source.subset([utt for utt, f in folds.items() if f != fold]).write(fold_dir(tmp_dir, fold, REST))
        with atomic_write(tmp_dir / FOLDS_NAME) as handle:
            json.dump(record, handle, indent=2)
            handle.write("\n")
    return record


def check_covers(fold_utts: Sequence[Sequence[str]], expected: Sequence[str], what: str,
                 may_lack: Sequence[str] = ()) -> None:
    """The folds' utterances are disjoint and together exactly ``expected`` (less ``may_lack``, which
    may be missing: an n-best list leaves out the utterances without any hypothesis)."""
    seen: Dict[str, int] = {}
    for fold, utts in enumerate(fold_utts, start=1):
        for utt in utts:
            if utt in seen:
                raise FoldError(f"{what}: utterance {utt} is in fold {seen[utt]} and fold {fold}")
            seen[utt] = fold
    allowed = set(may_lack)
    missing = [utt for utt in expected if utt not in seen and utt not in allowed]
    extra = c_sorted(set(seen) - set(expected))
    if missing or extra:
        raise FoldError(f"{what}: the folds miss {len(missing)} utterance(s) of the data dir (e.g. {missing[:3]}) "
                        f"and hold {len(extra)} it lacks (e.g. {extra[:3]})")


def merge_fold_nbest(fold_dirs: Sequence[PathLike], data_dir: PathLike, out_dir: PathLike,
                     token_list: Sequence[str]) -> Dict[str, object]:
    """Join the folds' n-best outputs (each ``<fold dir>/nbest.jsonl`` + ``summary.json``) into ``out_dir``:
    ``nbest.jsonl`` in the data dir's utterance order, ESPnet's ``{n}best_recog/`` dirs and a
    ``summary.json`` with the summed counts, the search options (equal in every fold: checked) and
    ``fold_models``, each fold's teacher fingerprint. Returns the summary."""
    from espnet_kd.nbest.format import read_nbest_jsonl
    from espnet_kd.nbest.outputs import SUMMARY_NAME, write_joined_outputs
    from espnet_kd.utils.fileio import read_json

    out_dir = Path(out_dir)
    fold_lists, summaries = [], []
    for fold_path in map(Path, fold_dirs):
        nbest_path, summary_path = fold_path / "nbest.jsonl", fold_path / SUMMARY_NAME
        for path in (nbest_path, summary_path):
            if not path.is_file():
                raise FoldError(f"{path} not found: that fold's teacher has not labelled its held-out part")
        fold_lists.append(read_nbest_jsonl(nbest_path))
        summaries.append(read_json(summary_path))
    utt_order = KaldiDataDir.load(data_dir, validate=False).utt_ids
    no_hypothesis = [utt for summary in summaries for utt in summary.get("no_hypothesis", [])]
    check_covers([list(entries) for entries in fold_lists], utt_order, f"n-best lists of {len(fold_dirs)} folds",
                 may_lack=no_hypothesis)
    options = [summary.get("options") for summary in summaries]
    if any(option != options[0] for option in options[1:]):
        raise FoldError("the folds' n-best lists were searched with different options: "
                        + ", ".join(f"{path}/summary.json" for path in fold_dirs))
    by_utt = {utt: hyps for entries in fold_lists for utt, hyps in entries.items()}
    entries = [entry for utt in utt_order for entry in by_utt.get(utt, [])]
    return write_joined_outputs(out_dir, entries, token_list, summaries, {
        "folds": len(fold_dirs),
        "fold_dirs": [str(path) for path in fold_dirs],
        "options": options[0],
        "fold_models": [s.get("model") for s in summaries],
    })


# the settings every fold's cache must share to be read as one (all but the teacher and the counts)
SHARED_CACHE_SETTINGS = ("format", "k", "temperature", "teacher_kind", "token_list_hash", "vocab_size",
                         "ids_dtype", "logp_encoding")


def merge_fold_topk(fold_caches: Sequence[PathLike], data_dir: PathLike, out_dir: PathLike) -> TopKCacheMeta:
    """Join the folds' top-k caches into one cache at ``out_dir`` (returns its meta).

    Fold ``j``'s shards become shards ``offset_j ..`` of the new cache (files copied, indexes kept);
    every setting of :data:`SHARED_CACHE_SETTINGS` must agree, the folds must cover the data dir's
    utterances exactly once. ``meta.json`` (written last) records each fold's teacher in
    ``extra.fold_teachers`` and, as ``teacher_sha256``, the sha256 of their sha256s in fold order.
    """
    out_dir = Path(out_dir)
    caches = [TopKCache(path) for path in fold_caches]
    first = caches[0].meta
    for path, cache in zip(fold_caches, caches):
        if cache.meta.format != FORMAT:
            raise FoldError(f"{path}: a cache of format {cache.meta.format}; only {FORMAT} caches are joined")
        differ = [name for name in SHARED_CACHE_SETTINGS if getattr(cache.meta, name) != getattr(first, name)]
        if differ:
            raise FoldError(f"{path} and {fold_caches[0]} differ in {', '.join(differ)}: not folds of one cache")
    utt_order = KaldiDataDir.load(data_dir, validate=False).utt_ids
    check_covers([list(cache) for cache in caches], utt_order, f"top-k caches of {len(caches)} folds")
    teachers = [{"cache_dir": str(path), "teacher_model_file": cache.meta.teacher_model_file,
                 "teacher_sha256": cache.meta.teacher_sha256} for path, cache in zip(fold_caches, caches)]
    combined_sha = hashlib.sha256("".join(t["teacher_sha256"] for t in teachers).encode()).hexdigest()
    meta = TopKCacheMeta(
        k=first.k, temperature=first.temperature, teacher_kind=first.teacher_kind, teacher_sha256=combined_sha,
        teacher_model_file=f"{len(caches)} held-out fold teachers (extra.fold_teachers)",
        token_list_hash=first.token_list_hash, vocab_size=first.vocab_size,
        num_shards=sum(cache.meta.num_shards for cache in caches),
        num_utts=sum(len(cache) for cache in caches), format=first.format, ids_dtype=first.ids_dtype,
        logp_encoding=first.logp_encoding, extra={"fold_teachers": teachers, "data_dir": str(data_dir)},
    )
    with atomic_dir(out_dir) as tmp_dir:
        shard = 0
        for cache in caches:
            for fold_shard in range(cache.meta.num_shards):
                shutil.copyfile(shard_data_path(cache.cache_dir, fold_shard), shard_data_path(tmp_dir, shard))
                shutil.copyfile(shard_stem(cache.cache_dir, fold_shard).with_suffix(".index"),
                                shard_stem(tmp_dir, shard).with_suffix(".index"))
                shard += 1
        with atomic_write(tmp_dir / BUILD_NAME) as handle:
            json.dump(meta.build_settings(), handle, indent=2, sort_keys=True)
            handle.write("\n")
        meta.write(tmp_dir / META_NAME)
    return meta

