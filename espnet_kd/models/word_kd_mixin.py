"""What the ASR and ST word-KD students share: a frozen teacher and the KD criterion.

A word-KD student is an ESPnet model whose attention criterion is replaced by
:class:`~espnet_kd.kd.criterion.WordKDCriterion`; everything else (encoder,
CTC branch, accuracy, error rates, the trainer) is ESPnet's own. The teacher is
held outside the module tree, so it is not a submodule: its weights are not in
``state_dict()`` (student checkpoints load into the stock ESPnet model), not in
``parameters()`` (the optimiser never sees them), and ``model.train()`` does not
reach it; :meth:`train` puts it back in eval mode explicitly, and :meth:`_apply`
moves it with the student (``model.to(device)``).

The student is made from the model ESPnet's task built (:meth:`from_espnet_model`),
so that the student's configuration stays ESPnet's (``model: espnet``) and its
checkpoints decode with ESPnet's stock inference.

A batch reaches the criterion through :meth:`forward`: ESPnet's trainer calls
``model(**batch)`` with every data stream (``speech``, ``text``, ``src_text``,
``kd_topk`` and their ``*_lengths``, and ``utt_id``); :meth:`teacher_signal` turns the
teacher's part of it (the cached ``kd_topk`` stream, or the inputs of the online
teacher) into a :class:`~espnet_kd.kd.criterion.TeacherSignal`, which the criterion
holds while the stock model's ``forward`` runs and calls it as
``criterion(decoder_out, ys_out)``.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Type, TypeVar

import torch
from espnet2.torch_utils.device_funcs import force_gatherable

from espnet_kd.kd.criterion import (
    CachedTeacherSignal,
    FrozenTeacher,
    OnlineTeacherSignal,
    TeacherSignal,
    WordKDConfig,
    WordKDCriterion,
    WordKDError,
)
from espnet_kd.kd.topk_cache import DATA_TYPE

ModelT = TypeVar("ModelT", bound="WordKDMixin")


class WordKDMixin:
    """Mixed into a subclass of an ESPnet model class; see the module docstring."""

    #: the stock ESPnet class this student extends (set by the subclass)
    espnet_class: Type[torch.nn.Module]
    #: the name of the stock model's attention criterion attribute
    criterion_name: str

    @classmethod
    def from_espnet_model(cls: Type[ModelT], model: torch.nn.Module, config: WordKDConfig,
                          teacher: Optional[FrozenTeacher] = None,
                          cache_temperature: float = 1.0) -> ModelT:
        """Turn a model built by ESPnet's task into this student, keeping its modules and weights.

        ESPnet's ST task constructs ``ESPnetSTModel`` itself (no model registry), so
        the built instance is given this subclass, which adds no parameters of its own.
        """
        if type(model) is not cls.espnet_class:
            raise WordKDError(
                f"word KD extends {cls.espnet_class.__name__}, but the config built {type(model).__name__}"
            )
        model.__class__ = cls
        model._init_word_kd(config, teacher, cache_temperature)
        return model

    def _init_word_kd(self, config: WordKDConfig, teacher: Optional[FrozenTeacher],
                      cache_temperature: float) -> None:
        ce = getattr(self, self.criterion_name)
        criterion = WordKDCriterion(
            ce, config, sos=self.sos, eos=self.eos, ignore_id=self.kd_ignore_id(),
            normalize_length=bool(ce.normalize_length),
        )
        setattr(self, self.criterion_name, criterion)
        self.kd_config = config
        self.kd_cache_temperature = cache_temperature
        self._teacher_holder: Tuple[Optional[FrozenTeacher]] = (teacher,)
        if teacher is not None:
            teacher.model.to(next(self.parameters()).device)

    def kd_ignore_id(self) -> int:
        return self.ignore_id

    @property
    def teacher(self) -> Optional[FrozenTeacher]:
        """The frozen teacher, or None when the teacher's top-k comes from the cache."""
        return self._teacher_holder[0]

    @property
    def kd_criterion(self) -> WordKDCriterion:
        return getattr(self, self.criterion_name)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.teacher is not None:
            self.teacher.model.eval()
        return self

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        holder = self.__dict__.get("_teacher_holder")
        if holder is not None and holder[0] is not None:
            holder[0].model._apply(fn, *args, **kwargs)
        return self

    def teacher_signal(self, batch: Dict[str, Any]) -> TeacherSignal:
        """The cached top-k if the batch carries the ``kd_topk`` stream, else the online teacher."""
        if DATA_TYPE in batch:
            return CachedTeacherSignal(batch[DATA_TYPE], batch[f"{DATA_TYPE}_lengths"],
                                       self.kd_cache_temperature, batch.get("utt_id"))
        if self.teacher is None:
            raise WordKDError(
                "word KD has neither a teacher (--kd_teacher_config/--kd_teacher_model_file) nor a "
                f"'{DATA_TYPE}' data stream in this batch (add '<cache dir>,{DATA_TYPE},{DATA_TYPE}' "
                "to --train_data_path_and_name_and_type and --valid_data_path_and_name_and_type)"
            )
        return OnlineTeacherSignal(self.teacher, batch)

    def forward(self, *args, **batch):
        if args:
            raise TypeError(f"{type(self).__name__}.forward takes keyword arguments only (as ESPnet's trainer passes)")
        with self.kd_criterion.teacher_signal(self.teacher_signal(batch)):
            loss, stats, weight = super().forward(**batch)
            kd_stats = dict(self.kd_criterion.last_stats)
        if not kd_stats:
            raise WordKDError("the attention decoder did not run, so word KD has nothing to distil into")
        kd_stats, _ = force_gatherable((kd_stats, weight), loss.device)
        stats.update(kd_stats)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            stats = same_dtype_on_every_rank(stats)
        return loss, stats, weight


def same_dtype_on_every_rank(stats: Dict[str, Any]) -> Dict[str, Any]:
    """The stats with integer tensors made float32, for ESPnet's all-gather of the stats under DDP.

    ESPnet's trainer all-gathers every stat across the ranks (``recursive_average``), which needs the
    same dtype on every rank. ESPnet's ST model reports ``bleu`` as NLTK's ``corpus_bleu`` returns it:
    the int ``0`` when a batch has no n-gram match, a float otherwise, so one rank would send an
    int64 and another a float32 and the collective fails (gloo: "Received data size doesn't match").
    The values are unchanged; a single process (no process group) gets the stats as they were.
    """
    return {key: value.float() if isinstance(value, torch.Tensor) and not value.is_floating_point() else value
            for key, value in stats.items()}
