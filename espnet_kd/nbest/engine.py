"""Decoding a data set into n-best lists: reading, batching by length, resuming, writing.

:func:`decode_data_set` reads the inputs through ESPnet's own data pipeline
(the task's streaming iterator, preprocessor and collate function, as
``espnet2.bin.asr_inference`` does), encodes each utterance alone (ESPnet's
encoders are not padding-invariant: a batch would change the encoder output
of every shorter utterance), sorts a window of encoded utterances by length
and decodes them in batches with :class:`~espnet_kd.nbest.beam_search.BatchedBeamSearch`.

Once searched, an utterance's hypotheses become :class:`~espnet_kd.nbest.format.NBestEntry`
objects (text by the model's own tokenizer), appended, one JSON line per utterance,
to ``partial.jsonl`` in the output dir and flushed to disk after every batch, so an
interrupted run resumes where it stopped (a torn last line is discarded). When every
utterance is done, :func:`espnet_kd.nbest.outputs.finalize` writes ``nbest.jsonl``,
ESPnet's ``{n}best_recog/`` dirs and ``summary.json`` atomically.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Dict, Iterator, List, Optional, Sequence, Tuple

import torch

from espnet_kd.nbest.beam_search import BatchedBeamSearch, BeamSearchOptions, Hypothesis
from espnet_kd.nbest.format import NBestEntry
from espnet_kd.nbest.outputs import (
    PARTIAL_NAME,
    NBestDataError,
    append_partial,
    check_partial_header,
    finalize,
    made_with_record,
    read_partial,
)
from espnet_kd.teacher import Teacher
from espnet_kd.utils.fileio import PathLike, atomic_write, read_text_lines
from espnet_kd.utils.kaldi_dir import c_sorted, read_table

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchingOptions:
    """How utterances are grouped into decoding batches.

    ``batch_size``: the most utterances per batch; ``batch_frames``: the most
    padded encoder frames per batch (utterances × longest; 0 = no limit);
    ``sort_window``: how many utterances are encoded, then sorted by length
    and batched together (larger: less padding, more memory).
    """

    batch_size: int = 32
    batch_frames: int = 0
    sort_window: int = 512

    def check(self) -> None:
        if self.batch_size < 1:
            raise NBestDataError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.batch_frames < 0:
            raise NBestDataError(f"batch_frames must be >= 0, got {self.batch_frames}")
        if self.sort_window < 1:
            raise NBestDataError(f"sort_window must be >= 1, got {self.sort_window}")


@dataclass
class EncodedUtterance:
    """One utterance's encoder output ``(T, D)``."""

    utt: str
    encoded: torch.Tensor


def data_type_of(path: PathLike) -> str:
    """ESPnet's loader type for an input file: ``sound`` (wav.scp), ``kaldi_ark`` (feats.scp) or ``text``."""
    name = Path(path).name
    if name.startswith("wav") and name.endswith(".scp"):
        return "sound"
    if name.endswith(".scp"):
        return "kaldi_ark"
    return "text"


def read_keys(input_path: PathLike, key_file: Optional[PathLike]) -> List[str]:
    """The utterance ids to decode: those of ``key_file`` (every one must be in the
    input), else all of the input file; in C-locale order."""
    table = read_table(input_path, allow_empty_value=True)
    if not table:
        raise NBestDataError(f"{input_path} lists no utterance")
    if key_file is None:
        return c_sorted(table)
    keys = [line.split(maxsplit=1)[0] for line in read_text_lines(key_file) if line.strip()]
    missing = [key for key in keys if key not in table]
    if missing:
        raise NBestDataError(
            f"{len(missing)} utterance(s) of {key_file} are not in {input_path}: "
            + ", ".join(missing[:5])
        )
    return c_sorted(keys)


EMPTY_INPUT_POLICIES = ("error", "empty_output")


def check_inputs_exist(
    input_path: PathLike, keys: Sequence[str], data_type: str, sample_rate: Optional[int] = None,
    empty_inputs: str = "error",
) -> List[str]:
    """Fail before decoding if a listed audio file is missing or an input is empty, or (given the
    model's ``sample_rate``) if an audio file's header gives another rate: the frontend would
    read it as if it were at the model's rate. Command entries (``... |``) are not checked.

    An empty text input is an error, or with ``empty_inputs="empty_output"`` (a test set's empty
    transcript, which MuST-C's tst-COMMON holds) one of the keys returned: it gets an empty
    hypothesis instead of a search.
    """
    if empty_inputs not in EMPTY_INPUT_POLICIES:
        raise NBestDataError(f"empty_inputs must be one of {', '.join(EMPTY_INPUT_POLICIES)}, not {empty_inputs!r}")
    table = read_table(input_path, allow_empty_value=True)
    if data_type == "text":
        empty = [key for key in keys if not table[key].strip()]
        if empty and empty_inputs == "error":
            raise NBestDataError(
                f"{len(empty)} empty input(s) in {input_path}: {', '.join(empty[:5])} "
                "(--empty_inputs empty_output gives them an empty hypothesis)"
            )
        return empty
    missing = []
    for key in keys:
        value = table[key].strip()
        if not value:
            missing.append(f"{key} (no path)")
            continue
        if value.endswith("|"):
            continue  # a command: checked when it runs
        path = value.split(":", 1)[0] if data_type == "kaldi_ark" else value
        if not Path(path).is_file():
            missing.append(f"{key} ({path})")
    if missing:
        raise NBestDataError(
            f"{len(missing)} of {len(keys)} input file(s) listed in {input_path} do not exist: "
            + ", ".join(missing[:5])
        )
    if data_type == "sound" and sample_rate is not None:
        check_sample_rates(input_path, table, keys, sample_rate)
    return []


def check_sample_rates(input_path: PathLike, table: Dict[str, str], keys: Sequence[str], sample_rate: int) -> None:
    """Refuse audio files whose header gives a rate other than the model's (files soundfile cannot
    read are left to the loader, which names them)."""
    import soundfile

    other_rates = []
    for key in keys:
        value = table[key].strip()
        if value.endswith("|"):
            continue
        try:
            rate = soundfile.info(value).samplerate
        except Exception:  # unreadable: ESPnet's loader reports it with the file's name
            continue
        if rate != sample_rate:
            other_rates.append(f"{key} ({value}: {rate} Hz)")
    if other_rates:
        raise NBestDataError(
            f"{len(other_rates)} of {len(keys)} audio file(s) listed in {input_path} are not at the model's "
            f"sample rate, {sample_rate} Hz (frontend_conf.fs of its config), and would be decoded as if they "
            f"were: {', '.join(other_rates[:5])}; resample them first "
            f"(python -m espnet_kd.bin.format_data --fs {sample_rate})"
        )


class TextConverter:
    """Token ids → text with the model's own tokenizer (as ESPnet's inference does)."""

    def __init__(self, teacher: Teacher) -> None:
        from espnet2.text.build_tokenizer import build_tokenizer
        from espnet2.text.token_id_converter import TokenIDConverter

        args = teacher.train_args
        token_type = getattr(args, "token_type", None)
        bpemodel = getattr(args, "bpemodel", None)
        self.converter = TokenIDConverter(token_list=teacher.token_list)
        self.tokenizer = None
        if token_type is not None and not (token_type == "bpe" and bpemodel is None):
            if token_type == "bpe" and not Path(bpemodel).is_file():
                raise NBestDataError(
                    f"the model's sentencepiece model {bpemodel} (bpemodel in its config) is "
                    "not found; run from the directory the model was trained in"
                )
            self.tokenizer = build_tokenizer(token_type=token_type, bpemodel=bpemodel)

    def __call__(self, token_ids: Sequence[int]) -> str:
        """The text, without the leading/trailing spaces a ``<space>`` token can leave
        (a Kaldi text file would lose them anyway)."""
        tokens = self.converter.ids2tokens(list(token_ids))
        if self.tokenizer is None:
            return " ".join(tokens)
        return self.tokenizer.tokens2text(tokens).strip()


def iterate_inputs(
    teacher: Teacher, input_path: PathLike, data_type: str, keys: Sequence[str], work_dir: Path
) -> Iterator[Tuple[str, torch.Tensor, torch.Tensor]]:
    """``(utt, input batch of one, its length)`` through ESPnet's own data pipeline."""
    key_file = work_dir / ".keys_to_decode"
    with atomic_write(key_file) as handle:
        for key in keys:
            handle.write(f"{key}\n")
    task = teacher.task_class
    loader = task.build_streaming_iterator(
        data_path_and_name_and_type=[(str(input_path), teacher.input_name, data_type)],
        dtype="float32",
        batch_size=1,
        key_file=str(key_file),
        num_workers=0,
        preprocess_fn=task.build_preprocess_fn(teacher.train_args, False),
        collate_fn=task.build_collate_fn(teacher.train_args, False),
        allow_variable_data_keys=False,
        inference=True,
    )
    name = teacher.input_name
    for utt_ids, batch in loader:
        yield utt_ids[0], batch[name], batch[f"{name}_lengths"]


def make_batches(
    encoded: List[EncodedUtterance], options: BatchingOptions
) -> List[List[EncodedUtterance]]:
    """Group utterances, longest first, under the batch size and frame budget."""
    ordered = sorted(encoded, key=lambda item: -item.encoded.shape[0])
    batches: List[List[EncodedUtterance]] = []
    current: List[EncodedUtterance] = []
    for item in ordered:
        longest = current[0].encoded.shape[0] if current else item.encoded.shape[0]
        full = len(current) >= options.batch_size or (
            options.batch_frames > 0 and (len(current) + 1) * longest > options.batch_frames
        )
        if current and full:
            batches.append(current)
            current = []
        current.append(item)
    if current:
        batches.append(current)
    return batches


def search_batch(
    search: BatchedBeamSearch, batch: List[EncodedUtterance], device: str
) -> List[List[Hypothesis]]:
    """Beam search over one batch of encoded utterances (padded together)."""
    lengths = torch.tensor([item.encoded.shape[0] for item in batch], device=device)
    memory = torch.nn.utils.rnn.pad_sequence([item.encoded for item in batch], batch_first=True)
    return search(memory, lengths)


def search_with_retries(
    teacher: Teacher,
    options: BeamSearchOptions,
    batch: List[EncodedUtterance],
) -> List[List[Hypothesis]]:
    """Search a batch; like ESPnet, an utterance with no ended hypothesis is searched
    again with ``minlenratio`` lowered by 0.1 while it is at least 0.1."""
    search = build_search(teacher, options)
    results = search_batch(search, batch, teacher.device)
    retry_options = options
    while retry_options.minlenratio >= 0.1:
        empty = [index for index, hyps in enumerate(results) if not hyps]
        if not empty:
            break
        retry_options = BeamSearchOptions(
            **{**asdict(retry_options), "minlenratio": max(0.0, retry_options.minlenratio - 0.1)}
        )
        logger.warning(
            "no hypothesis ended for %d utterance(s); searching again with minlenratio %.1f",
            len(empty), retry_options.minlenratio,
        )
        again = search_batch(
            build_search(teacher, retry_options), [batch[index] for index in empty], teacher.device
        )
        for index, hyps in zip(empty, again):
            results[index] = hyps
    return results


def build_search(teacher: Teacher, options: BeamSearchOptions) -> BatchedBeamSearch:
    """The batched beam search over the teacher's decoder (and CTC branch)."""
    return BatchedBeamSearch(
        decoder=teacher.decoder,
        ctc=teacher.ctc,
        sos=teacher.model.sos,
        eos=teacher.model.eos,
        vocab_size=len(teacher.token_list),
        options=options,
    )


def progress_bar(total: int, initial: int, description: str):
    """A tqdm bar on stderr counting utterances (its rate is utterances per second)."""
    from tqdm import tqdm

    return tqdm(
        total=total, initial=initial, unit="utt", desc=description, file=sys.stderr,
        mininterval=2.0, dynamic_ncols=True,
    )


def decode_data_set(
    teacher: Teacher,
    input_path: PathLike,
    out_dir: PathLike,
    options: BeamSearchOptions,
    batching: BatchingOptions = BatchingOptions(),
    key_file: Optional[PathLike] = None,
    max_input_length: int = 0,
    show_progress: bool = True,
    model: Optional[Dict[str, object]] = None,
    empty_inputs: str = "error",
) -> Dict[str, object]:
    """Decode every utterance of ``input_path`` (or of ``key_file``) into ``out_dir``.

    Resumes from ``out_dir/partial.jsonl``; returns the summary that
    :func:`finalize` writes. ``model`` (:func:`espnet_kd.utils.fingerprint.model_fingerprint`)
    and the search options are recorded in the partial file's header: a resume under other
    options or with another model is refused. ``max_input_length`` (input samples or tokens, 0 =
    no limit) stops with a clear error at an utterance longer than that. ``empty_inputs``: an
    empty text input is an error, or (``empty_output``) gets one empty hypothesis, listed among the
    summary's ``empty_hypotheses``.
    """
    batching.check()
    options.check(len(teacher.token_list))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    input_path = Path(input_path)
    if not input_path.is_file():
        raise NBestDataError(f"input file not found: {input_path}")
    data_type = data_type_of(input_path)
    keys = read_keys(input_path, key_file)
    partial_path = out_dir / PARTIAL_NAME
    made_with = made_with_record(options, model)
    check_partial_header(partial_path, made_with)
    done = read_partial(partial_path)
    stale = [utt for utt in done if utt not in set(keys)]
    if stale:
        raise NBestDataError(
            f"{partial_path} holds {len(stale)} utterance(s) that are not to be decoded "
            f"(e.g. {stale[0]}); it belongs to another data set: remove it or use another --out_dir"
        )
    todo = [key for key in keys if key not in done]
    empty = check_inputs_exist(input_path, todo, data_type, teacher.sample_rate, empty_inputs)
    if empty:
        logger.warning("%d empty input(s) get an empty hypothesis, e.g. %s", len(empty), empty[0])
        with open(partial_path, "a", encoding="utf-8") as partial:
            append_partial(partial, [(utt, [empty_output(utt)]) for utt in empty])
        todo = [key for key in todo if key not in set(empty)]
        input_path = table_without(input_path, set(empty), out_dir / ".inputs_not_empty")  # ESPnet's reader refuses them
    if done:
        logger.info("resuming: %d of %d utterances already decoded", len(done), len(keys))
    to_text = TextConverter(teacher)
    started = time.time()
    if todo:
        bar = progress_bar(len(keys), len(done), f"n-best {out_dir.name}") if show_progress else None
        with open(partial_path, "a", encoding="utf-8") as partial:
            window: List[EncodedUtterance] = []
            inputs = iterate_inputs(teacher, input_path, data_type, todo, out_dir)
            for utt, inputs_one, length in read_with_clear_errors(inputs, input_path):
                if max_input_length and int(length[0]) > max_input_length:
                    raise NBestDataError(
                        f"utterance {utt} is {int(length[0])} long, more than --max_input_length "
                        f"{max_input_length}; split it (segments) or raise the limit"
                    )
                window.append(EncodedUtterance(utt, encode_one(teacher, utt, inputs_one, length)))
                if len(window) >= batching.sort_window:
                    decode_window(teacher, options, batching, window, to_text, partial, bar)
                    window = []
            if window:
                decode_window(teacher, options, batching, window, to_text, partial, bar)
        if bar is not None:
            bar.close()
    seconds = time.time() - started
    decoded_now = len(todo)
    logger.info(
        "decoded %d utterances in %.1f s (%.2f utt/s)", decoded_now, seconds,
        decoded_now / seconds if seconds > 0 else float("nan"),
    )
    return finalize(
        out_dir, keys, teacher.token_list,
        timing={"decoded_now": decoded_now, "seconds": round(seconds, 3)},
        made_with=made_with,
    )


def read_with_clear_errors(
    inputs: Iterator[Tuple[str, torch.Tensor, torch.Tensor]], input_path: Path
) -> Iterator[Tuple[str, torch.Tensor, torch.Tensor]]:
    """Re-raise a failure of ESPnet's loader as an error naming the input file."""
    try:
        yield from inputs
    except NBestDataError:
        raise
    except Exception as error:
        raise NBestDataError(
            f"reading {input_path} failed: {type(error).__name__}: {error}"
        ) from error


def encode_one(teacher: Teacher, utt: str, inputs: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
    """The encoder output of one utterance, or an error naming it."""
    try:
        return teacher.encode_utterance(inputs.to(teacher.device), length.to(teacher.device))
    except Exception as error:
        raise NBestDataError(
            f"the encoder failed on utterance {utt} (input length {int(length[0])}); it may be "
            f"longer (or shorter) than the model can take: {type(error).__name__}: {error}"
        ) from error


def decode_window(
    teacher: Teacher,
    options: BeamSearchOptions,
    batching: BatchingOptions,
    window: List[EncodedUtterance],
    to_text: TextConverter,
    partial: IO[str],
    bar,
) -> None:
    """Decode a window of encoded utterances batch by batch, appending each batch's
    n-best entries to the partial file (flushed and synced: a later crash keeps them)."""
    for batch in make_batches(window, batching):
        results = search_with_retries(teacher, options, batch)
        finished = [(item.utt, entries_of(item.utt, hyps, to_text)) for item, hyps in zip(batch, results)]
        append_partial(partial, finished)
        if bar is not None:
            bar.update(len(batch))


def table_without(input_path: Path, keys: set, out_path: Path) -> Path:
    """A copy of the ``uttid value`` table ``input_path`` without the lines of ``keys``."""
    with open(input_path, encoding="utf-8") as source, atomic_write(out_path) as handle:
        for line in source:
            if line.split(maxsplit=1)[0:1] and line.split(maxsplit=1)[0] not in keys:
                handle.write(line)
    return out_path


def empty_output(utt: str) -> NBestEntry:
    """The one hypothesis of an empty input: no tokens, log-prob 0 (nothing was searched)."""
    return NBestEntry(utt=utt, rank=1, text="", token_int=[], score=0.0, logp=0.0, token_logp=[], scores={},
                      ended=True)


def entries_of(utt: str, hyps: Sequence[Hypothesis], to_text: TextConverter) -> List[NBestEntry]:
    """The ``nbest.jsonl`` entries of one utterance's hypotheses, best first."""
    return [
        NBestEntry(
            utt=utt,
            rank=rank,
            text=to_text(hyp.token_ids),
            token_int=list(hyp.token_ids),
            score=float(hyp.score),
            logp=hyp.logp,
            token_logp=[float(value) for value in hyp.token_logp],
            scores={name: float(value) for name, value in hyp.scores.items()},
            ended=bool(hyp.ended),
        )
        for rank, hyp in enumerate(hyps, start=1)
    ]
