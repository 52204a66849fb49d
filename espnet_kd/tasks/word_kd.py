"""Task-side wiring shared by the word-KD tasks: options, the set-up, data checks, teacher or cache.

The word-KD tasks (:class:`~espnet_kd.tasks.asr_word_kd.ASRWordKDTask`,
:class:`~espnet_kd.tasks.st_word_kd.STWordKDTask`) are ESPnet's ``ASRTask`` /
``STTask`` with :class:`WordKDTask` mixed in, as their models are ESPnet's with
:class:`~espnet_kd.models.word_kd_mixin.WordKDMixin`. The student's model options stay
ESPnet's (``model: espnet``, ``model_conf``), and KD adds its own top-level options
(:func:`add_word_kd_arguments`).

Building a student goes in three steps:

1. :func:`word_kd_setup` reads every KD option of ``args`` once into a frozen
   :class:`WordKDSetup` (teacher, λ, T, k, loss, and per data set its streams and
   top-k cache); nothing else reads ``args`` for KD.
2. :func:`open_caches` opens each top-k cache directory once, and
   :func:`check_caches` checks them against the set-up (k, token list, teacher,
   coverage of the references, one temperature).
3. Unless every data set (train and valid) carries a cache, :func:`load_online_teacher`
   loads the frozen teacher: the one place a teacher is loaded.

CTC-branch KD (:mod:`espnet_kd.kd.ctc_kd`; ASR students only, a task with
:attr:`WordKDTask.supports_ctc_kd`) rides on the same set-up: ``--kd_ctc_weight``,
``--kd_ctc_topk`` and ``--kd_ctc_blank_threshold`` (:func:`add_word_kd_arguments`) are read
into :attr:`WordKDSetup.ctc` (:func:`ctc_kd_config`), each data set's ``kd_ctc_topk`` stream
into :attr:`SplitData.ctc_cache_dir`; :func:`open_ctc_caches` / :func:`check_ctc_caches` open
and check those caches, and the online teacher is loaded when a data set lacks either cache.
At ``kd_ctc_weight`` 0 (the default) nothing of it runs.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Dict, Optional, Set, Tuple, Type

import torch
from espnet2.utils.types import float_or_none, str_or_none

from espnet_kd.kd.criterion import FrozenTeacher, WordKDConfig, WordKDError
from espnet_kd.kd.ctc_kd import CTC_DATA_TYPE, CTC_POSITIONS, DEFAULT_CTC_TOPK, CTCKDConfig, CTCKDError
from espnet_kd.kd.losses import DEFAULT_KD_LOSS, KD_LOSSES
from espnet_kd.kd.topk_cache import DATA_TYPE, TopKCache, TopKCacheError
from espnet_kd.models.word_kd_mixin import WordKDMixin
from espnet_kd.teacher import TeacherError, as_token_list, check_same_token_list, load_teacher
from espnet_kd.utils.fingerprint import file_sha256
from espnet_kd.utils.tokens import token_list_hash

__all__ = [
    "DataStream", "SPLITS", "SplitData", "TeacherError", "TeacherSource", "WordKDSetup", "WordKDTask",
    "add_word_kd_arguments", "as_token_list", "check_caches", "check_coverage", "check_ctc_caches",
    "check_same_token_list", "ctc_kd_config", "load_online_teacher", "open_caches", "open_ctc_caches",
    "word_kd_config", "word_kd_setup",
]

#: ``(path, name, type)``, one ``--{split}_data_path_and_name_and_type`` value
DataTriple = Tuple[str, str, str]
SPLITS = ("train", "valid")


def add_word_kd_arguments(parser: argparse.ArgumentParser, teacher_kind: str, ctc: bool = False) -> None:
    """``--kd_*`` options: the teacher, λ, T, k and the loss; with ``ctc``, CTC KD's ``--kd_ctc_*``."""
    group = parser.add_argument_group(description="Word-level knowledge distillation")
    group.add_argument("--kd_teacher_config", type=str_or_none, default=None,
                       help=f"config.yaml of the frozen {teacher_kind.upper()} teacher")
    group.add_argument("--kd_teacher_model_file", type=str_or_none, default=None,
                       help="the teacher's checkpoint (also checked against a top-k cache's fingerprint)")
    group.add_argument("--kd_lambda", type=float, default=0.5,
                       help="weight λ of the KD loss (KL(teacher‖student)); the CE on references gets 1-λ")
    group.add_argument("--kd_temperature", type=float, default=1.0, help="temperature T of both distributions")
    group.add_argument("--kd_topk", type=int, default=8,
                       help="distil the teacher's top-k renormalised (0: its full distribution, online only)")
    group.add_argument("--kd_loss", type=str, default=DEFAULT_KD_LOSS,
                       help=f"the KD loss, a name of espnet_kd.kd.losses.KD_LOSSES ({', '.join(sorted(KD_LOSSES))})")
    if not ctc:
        return
    group.add_argument("--kd_ctc_weight", type=float, default=0.0,
                       help="weight w of CTC-branch KD: loss_ctc = (1-w)*CTC(references) + w*KL(teacher CTC || "
                            "student CTC) per encoder frame (0: off; espnet_kd.kd.ctc_kd)")
    group.add_argument("--kd_ctc_topk", type=int, default=DEFAULT_CTC_TOPK,
                       help="distil the teacher's top-k CTC outputs per frame, renormalised (0: its full "
                            f"distribution, online only); a {CTC_DATA_TYPE} cache must hold this k")
    group.add_argument("--kd_ctc_blank_threshold", type=float_or_none, default=None,
                       help="leave out of the CTC KL the frames whose teacher blank posterior is above this "
                            "(Hilmes et al. 2025; with it, kd_ctc_weight 1 drops the reference CTC loss); "
                            "none: every frame")


@dataclass(frozen=True)
class DataStream:
    """One data stream of a data set: ``path,name,type``."""

    path: str
    name: str
    type: str


@dataclass(frozen=True)
class SplitData:
    """One data set (``train`` or ``valid``): its streams and its top-k cache, if any."""

    split: str
    streams: Tuple[DataStream, ...]
    #: the ``kd_topk`` stream's directory; None: the teacher runs online for this data set
    cache_dir: Optional[str]
    #: the ``kd_ctc_topk`` stream's directory (CTC KD); None: the teacher's CTC runs online
    ctc_cache_dir: Optional[str] = None

    def stream(self, name: str) -> Optional[DataStream]:
        """The stream called ``name``, or None."""
        return next((stream for stream in self.streams if stream.name == name), None)


@dataclass(frozen=True)
class WordKDSetup:
    """Everything word KD takes from the arguments, read once by :func:`word_kd_setup`."""

    #: ``asr`` (ASR student, ASR teacher) or ``mt`` (ST student, MT teacher)
    teacher_kind: str
    teacher_config: Optional[str]
    teacher_model_file: Optional[str]
    #: λ, T, k and the loss's name, as the criterion takes them
    criterion: WordKDConfig
    #: the student's target tokens, and its source tokens (ST) if it has them
    token_list: Tuple[str, ...]
    src_token_list: Optional[Tuple[str, ...]]
    #: the data sets given (train, valid; one without streams is left out)
    data: Tuple[SplitData, ...]
    #: CTC-branch KD: w, k, the blank threshold (w = 0: off)
    ctc: CTCKDConfig = CTCKDConfig()

    @property
    def cached_data(self) -> Tuple[SplitData, ...]:
        """The data sets whose teacher top-k comes from a cache."""
        return tuple(split for split in self.data if split.cache_dir is not None)

    @property
    def online_data(self) -> Tuple[SplitData, ...]:
        """The data sets for which the teacher runs online (word KD)."""
        return tuple(split for split in self.data if split.cache_dir is None)

    @property
    def ctc_cached_data(self) -> Tuple[SplitData, ...]:
        """With CTC KD, the data sets whose teacher CTC top-k comes from a cache."""
        return tuple(split for split in self.data if self.ctc.enabled and split.ctc_cache_dir is not None)

    @property
    def ctc_online_data(self) -> Tuple[SplitData, ...]:
        """With CTC KD, the data sets for which the teacher's CTC runs online."""
        return tuple(split for split in self.data if self.ctc.enabled and split.ctc_cache_dir is None)

    @property
    def needs_online_teacher(self) -> bool:
        """True unless every data set given (train, valid) carries a ``kd_topk`` cache stream (and, with
        CTC KD, a ``kd_ctc_topk`` one)."""
        return not self.data or bool(self.online_data) or bool(self.ctc_online_data)


def word_kd_config(args: argparse.Namespace) -> WordKDConfig:
    """λ, T, k and the loss from ``--kd_lambda``, ``--kd_temperature``, ``--kd_topk``, ``--kd_loss``."""
    return WordKDConfig(kd_lambda=args.kd_lambda, temperature=args.kd_temperature, topk=args.kd_topk,
                        loss=getattr(args, "kd_loss", DEFAULT_KD_LOSS))


def ctc_kd_config(args: argparse.Namespace) -> CTCKDConfig:
    """w, k and the blank threshold from ``--kd_ctc_weight``, ``--kd_ctc_topk``, ``--kd_ctc_blank_threshold``
    (a task without them, ST's: CTC KD off)."""
    return CTCKDConfig(weight=getattr(args, "kd_ctc_weight", 0.0),
                       topk=getattr(args, "kd_ctc_topk", DEFAULT_CTC_TOPK),
                       blank_threshold=getattr(args, "kd_ctc_blank_threshold", None))


def split_data(args: argparse.Namespace, split: str) -> SplitData:
    """The streams of ``--{split}_data_path_and_name_and_type``; a ``kd_topk`` (``kd_ctc_topk``) one must
    be named so."""
    streams = tuple(DataStream(*triple)
                    for triple in getattr(args, f"{split}_data_path_and_name_and_type", None) or [])
    for stream in streams:
        for data_type in (DATA_TYPE, CTC_DATA_TYPE):
            if stream.type == data_type and stream.name != data_type:
                raise TopKCacheError(
                    f"the {data_type} stream must be named '{data_type}', not '{stream.name}' ({stream.path})")
    cache_dir = next((stream.path for stream in streams if stream.type == DATA_TYPE), None)
    ctc_cache_dir = next((stream.path for stream in streams if stream.type == CTC_DATA_TYPE), None)
    return SplitData(split, streams, cache_dir, ctc_cache_dir)


def word_kd_setup(args: argparse.Namespace, teacher_kind: str) -> WordKDSetup:
    """Read the KD options, token lists and data streams of ``args`` into one :class:`WordKDSetup`.

    Checks the values (λ, T, k, the loss's name, the ``kd_topk`` stream's name; CTC KD's w, k,
    threshold and a ``kd_ctc_topk`` stream without CTC KD); reads no file but a token list given as a path.
    """
    src_token_list = getattr(args, "src_token_list", None)
    data = tuple(split_data(args, split) for split in SPLITS)
    setup = WordKDSetup(
        teacher_kind=teacher_kind,
        teacher_config=args.kd_teacher_config,
        teacher_model_file=args.kd_teacher_model_file,
        criterion=word_kd_config(args),
        token_list=tuple(as_token_list(args.token_list, "student config")),
        src_token_list=tuple(as_token_list(src_token_list, "student config"))
        if src_token_list is not None else None,
        data=tuple(split for split in data if split.streams),
        ctc=ctc_kd_config(args),
    )
    if not setup.ctc.enabled and any(split.ctc_cache_dir is not None for split in setup.data):
        raise CTCKDError(f"a {CTC_DATA_TYPE} data stream (the teacher's CTC top-k) is given but "
                         "kd_ctc_weight is 0: set kd_ctc_weight > 0 for CTC KD, or leave the stream out")
    return setup


def text_file_ids(path: str) -> Set[str]:
    """The utterance ids of a text data stream (its first column)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"data stream file not found: {path}")
    with open(path, encoding="utf-8") as handle:
        return {line.split(maxsplit=1)[0] for line in handle if line.strip()}


def check_coverage(data: SplitData, name: str, hint: str, covered_ids: Optional[Set[str]] = None,
                   reference_name: str = "text") -> None:
    """Stop with the missing ids if stream ``name`` lacks some of stream ``reference_name``'s.

    ``covered_ids`` are the ids stream ``name`` holds (an opened cache's); None: the
    first column of its file. Nothing is checked when either stream is not given.
    """
    stream, reference = data.stream(name), data.stream(reference_name)
    if stream is None or reference is None:
        return
    reference_ids = text_file_ids(reference.path)
    missing = sorted(reference_ids - (covered_ids if covered_ids is not None else text_file_ids(stream.path)))
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise TeacherError(
            f"{data.split} data: {stream.path} ({name}) lacks {len(missing)} of the utterances in "
            f"{reference.path} ({reference_name}): {shown}. {hint}"
        )


def open_caches(setup: WordKDSetup) -> Dict[str, TopKCache]:
    """``{cache dir: opened cache}``, each directory opened once (train and valid may share one)."""
    caches: Dict[str, TopKCache] = {}
    for data in setup.cached_data:
        if data.cache_dir not in caches:
            caches[data.cache_dir] = TopKCache(data.cache_dir)
    return caches


def check_caches(setup: WordKDSetup, caches: Dict[str, TopKCache]) -> Optional[float]:
    """Check every data set's cache against the set-up; return the caches' temperature (None: no cache)."""
    teacher_sha = file_sha256(setup.teacher_model_file) if setup.teacher_model_file else None
    student_hash = token_list_hash(setup.token_list)
    temperatures = set()
    for data in setup.cached_data:
        cache = caches[data.cache_dir]
        # a cache joined from held-out teachers' (--teacher_folds) names its own teachers, not the configured one
        fold_teachers = cache.meta.extra.get("fold_teachers")
        cache.check_matches(setup.criterion.topk, student_hash, None if fold_teachers else teacher_sha)
        if fold_teachers:
            logging.info("%s: joined from the top-k caches of %d held-out teachers (its meta.json, extra.fold_teachers); "
                         "their teachers are not --kd_teacher_model_file", data.cache_dir, len(fold_teachers))
        check_coverage(data, DATA_TYPE, "Dump the top-k cache for this data set "
                       "(python -m espnet_kd.bin.dump_topk).", covered_ids=set(cache))
        temperatures.add(cache.meta.temperature)
    if len(temperatures) > 1:
        raise TopKCacheError(
            f"the train and valid top-k caches were dumped at different temperatures {sorted(temperatures)}")
    if teacher_sha is None and temperatures:
        logging.warning("no --kd_teacher_model_file: the top-k cache's teacher is not checked")
    return temperatures.pop() if temperatures else None


def open_ctc_caches(setup: WordKDSetup) -> Dict[str, TopKCache]:
    """``{cache dir: opened cache}`` of the CTC top-k caches (CTC KD), each directory opened once."""
    caches: Dict[str, TopKCache] = {}
    for data in setup.ctc_cached_data:
        if data.ctc_cache_dir not in caches:
            caches[data.ctc_cache_dir] = TopKCache(data.ctc_cache_dir)
    return caches


def check_ctc_caches(setup: WordKDSetup, caches: Dict[str, TopKCache]) -> None:
    """Check every data set's CTC top-k cache: one of encoder frames, at T = 1, with the k of
    ``kd_ctc_topk``, the student's token list, the configured teacher, every utterance of ``text``."""
    teacher_sha = file_sha256(setup.teacher_model_file) if setup.teacher_model_file else None
    student_hash = token_list_hash(setup.token_list)
    hint = "Dump the teacher's CTC top-k for this data set (python -m espnet_kd.bin.dump_ctc_topk)."
    for data in setup.ctc_cached_data:
        cache = caches[data.ctc_cache_dir]
        positions = (cache.meta.extra or {}).get("positions")
        if positions != CTC_POSITIONS:
            raise CTCKDError(
                f"{cache.cache_dir} ({data.split} data, {CTC_DATA_TYPE}) is not a CTC top-k cache (its positions "
                f"are {positions or 'target tokens'}, not encoder frames): dump it with "
                "python -m espnet_kd.bin.dump_ctc_topk")
        if setup.ctc.topk == 0:
            raise CTCKDError(f"kd_ctc_topk 0 (the full distribution) needs the online teacher, but the {data.split} "
                             f"data has the CTC top-k cache {cache.cache_dir}")
        if cache.meta.temperature != 1.0:
            raise CTCKDError(f"{cache.cache_dir}: CTC KD distils the posteriors at temperature 1, the cache "
                             f"holds them at {cache.meta.temperature}")
        try:
            cache.check_matches(setup.ctc.topk, student_hash, teacher_sha)
        except TopKCacheError as error:
            raise CTCKDError(str(error).replace("kd_topk=", "kd_ctc_topk=")
                             .replace("espnet_kd.bin.dump_topk", "espnet_kd.bin.dump_ctc_topk")) from None
        check_coverage(data, CTC_DATA_TYPE, hint, covered_ids=set(cache))
    if teacher_sha is None and caches:
        logging.warning("no --kd_teacher_model_file: the CTC top-k cache's teacher is not checked")


def load_online_teacher(setup: WordKDSetup) -> FrozenTeacher:
    """Load the frozen teacher and check that it predicts the student's target tokens."""
    if not setup.teacher_config or not setup.teacher_model_file:
        raise TeacherError(
            "word KD without a top-k cache for every data set needs the teacher: "
            "give --kd_teacher_config and --kd_teacher_model_file"
        )
    teacher = load_teacher(setup.teacher_kind, setup.teacher_config, setup.teacher_model_file)
    check_same_token_list(list(setup.token_list), teacher.token_list, "target", setup.teacher_model_file)
    return teacher


@dataclass(frozen=True)
class TeacherSource:
    """Where the student's teacher signal comes from: the online teacher (or None) and the caches' T."""

    teacher: Optional[FrozenTeacher]
    #: the temperature the caches were dumped at (1.0 when there is none)
    cache_temperature: float
    #: CTC KD's caches by directory (opened and checked), for the task's frame-rate check
    ctc_caches: Optional[Dict[str, TopKCache]] = None


class WordKDTask:
    """Mixed into an ESPnet task class before it (``class ASRWordKDTask(WordKDTask, ASRTask)``).

    Adds the ``--kd_*`` options and the optional ``kd_topk`` stream, and turns the
    model ESPnet's task builds into :attr:`model_class` with the teacher or cache
    the set-up names. A subclass sets :attr:`teacher_kind` and :attr:`model_class`,
    and may check an online teacher further (:meth:`check_online_teacher`).
    """

    #: the teacher's kind for :func:`load_teacher`: ``asr`` or ``mt``
    teacher_kind: ClassVar[str]
    #: the student model class (an ESPnet model with :class:`WordKDMixin`)
    model_class: ClassVar[Type[WordKDMixin]]
    #: whether the task takes CTC KD's options and ``kd_ctc_topk`` stream (:meth:`init_ctc_kd` then)
    supports_ctc_kd: ClassVar[bool] = False

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser) -> None:
        super().add_task_arguments(parser)
        add_word_kd_arguments(parser, cls.teacher_kind, ctc=cls.supports_ctc_kd)

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        if inference:
            return super().optional_data_names(train, inference)
        return super().optional_data_names(train, inference) + (DATA_TYPE,) + \
            ((CTC_DATA_TYPE,) if cls.supports_ctc_kd else ())

    @classmethod
    def check_online_teacher(cls, setup: WordKDSetup, teacher: FrozenTeacher) -> None:
        """Further checks of a loaded online teacher against the set-up (none by default)."""

    @classmethod
    def teacher_source(cls, setup: WordKDSetup) -> TeacherSource:
        """Open and check the caches, then load the online teacher if a data set has no cache."""
        cache_temperature = check_caches(setup, open_caches(setup))
        ctc_caches = open_ctc_caches(setup)
        check_ctc_caches(setup, ctc_caches)
        teacher = None
        if setup.needs_online_teacher:
            teacher = load_online_teacher(setup)
            cls.check_online_teacher(setup, teacher)
        return TeacherSource(teacher, cache_temperature if cache_temperature is not None else 1.0, ctc_caches)

    @classmethod
    def init_ctc_kd(cls, model: WordKDMixin, setup: WordKDSetup, source: TeacherSource,
                    args: argparse.Namespace) -> None:
        """Give the student CTC KD (a task with :attr:`supports_ctc_kd` implements it)."""
        raise WordKDError(f"CTC KD (kd_ctc_weight > 0) is for ASR students, not {cls.__name__}'s")

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> torch.nn.Module:
        """ESPnet's model made the word-KD student (ESPnet's model alone when collecting stats)."""
        student = super().build_model(args)
        if getattr(args, "collect_stats", False):
            return student
        setup = word_kd_setup(args, cls.teacher_kind)
        source = cls.teacher_source(setup)
        model = cls.model_class.from_espnet_model(student, setup.criterion, source.teacher,
                                                  source.cache_temperature)
        if setup.ctc.enabled:
            cls.init_ctc_kd(model, setup, source, args)
        return model
