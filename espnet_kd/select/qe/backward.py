"""``qe:backward``: how well a hypothesis explains the source, by a backward MT model.

A backward model is an ESPnet2 MT model (``espnet2.tasks.mt.MTTask``) trained
on the same parallel text in the other direction: it reads a translation and
writes the transcript. The value of a hypothesis ``y`` of an utterance whose
source transcript is ``x`` is ``log P_backward(x | y)`` divided by the number of
target tokens scored (the tokens of ``x`` plus ``<eos>``): the mean token
log-likelihood, teacher-forced. A hypothesis that drops or invents content
explains the transcript worse and scores lower.

Texts are tokenised by the model's own preprocessor (``MTTask.build_preprocess_fn``
on the training config: its ``src_token_type``/``src_bpemodel`` for the
hypothesis, ``token_type``/``bpemodel`` for the transcript) and scored in
batches; with ``lsm_weight: 0`` the value equals minus the model's own
length-normalised training loss on the pair.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.qe.abs_qe_scorer import AbsQEScorer, QEError, QEOptions, source_of
from espnet_kd.select.options import Option
from espnet_kd.select.qe.registry import register_qe_scorer

TextPair = Tuple[str, str]
"""``(hypothesis, source transcript)``: the backward model's input and its target."""

if TYPE_CHECKING:  # torch is imported where a model runs, not when the CLI starts
    import torch

HYP_NAME = "src_text"
SOURCE_NAME = "text"


def load_backward_model(
    config: Path, model_file: Path, device: str = "cpu"
) -> Tuple[torch.nn.Module, Callable[[str, Dict[str, Any]], Dict[str, Any]]]:
    """The MT model in eval mode and its text preprocessor, from an ESPnet2 training's files."""
    for name, path in (("config", config), ("model", model_file)):
        if not Path(path).is_file():
            raise QEError(f"qe:backward: {name} file {path} not found")
    from espnet2.tasks.mt import MTTask  # slow import (about 10 s), only when needed

    from espnet_kd.teacher import TeacherError, load_teacher

    try:  # torch.load(weights_only=True), strictly (not ESPnet's unpickling, partial load)
        backward = load_teacher("mt", config, model_file, device, role="backward MT model")
    except TeacherError as error:
        raise QEError(f"qe:backward: {error}") from None
    model, train_args = backward.model, backward.train_args
    model.eval()
    preprocess = MTTask.build_preprocess_fn(train_args, train=False)
    if preprocess is None:
        raise QEError(f"qe:backward: {config} has use_preprocessor: false; cannot tokenise text")
    return model, preprocess


def pad_ids(sequences: Sequence[np.ndarray], pad_value: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Right-pad token id arrays into a ``(batch, max_len)`` tensor; return it and the lengths."""
    import torch

    lengths = torch.tensor([len(ids) for ids in sequences], dtype=torch.long)
    padded = torch.full((len(sequences), max(int(lengths.max()), 1)), pad_value, dtype=torch.long)
    for row, ids in enumerate(sequences):
        padded[row, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
    return padded, lengths


def mean_target_logp(
    model: torch.nn.Module, src_ids: Sequence[np.ndarray], tgt_ids: Sequence[np.ndarray]
) -> List[float]:
    """Mean log P(target token | source, target prefix) per pair, ``<eos>`` included.

    ``model`` is an ``ESPnetMTModel``; ``src_ids``/``tgt_ids`` are token id arrays
    of the same batch. The decoder is teacher-forced on ``<sos> + target`` and
    scored on ``target + <eos>``.
    """
    import torch
    from espnet.nets.pytorch_backend.transformer.add_sos_eos import add_sos_eos

    device = next(model.parameters()).device
    ignore_id = model.ignore_id
    src, src_lengths = pad_ids(src_ids, ignore_id)
    tgt, tgt_lengths = pad_ids(tgt_ids, ignore_id)
    src, src_lengths, tgt = src.to(device), src_lengths.to(device), tgt.to(device)
    with torch.no_grad():
        encoder_out, encoder_lengths = model.encode(src, src_lengths)
        tgt_in, tgt_out = add_sos_eos(tgt, model.sos, model.eos, ignore_id)
        decoder_out, _ = model.decoder(
            encoder_out, encoder_lengths, tgt_in, tgt_lengths.to(device) + 1
        )
        log_probs = torch.log_softmax(decoder_out.float(), dim=-1)
        scored = tgt_out != ignore_id
        token_logp = log_probs.gather(-1, tgt_out.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        totals = (token_logp * scored).sum(dim=-1)
    return (totals / scored.sum(dim=-1)).tolist()


@register_qe_scorer
class BackwardScorer(AbsQEScorer):
    """Mean token log-likelihood of the source transcript given the hypothesis, by a backward MT model."""

    name = "backward"
    needs_source = True
    tasks = ("st",)  # the ST recipe trains the backward MT model
    needs_backward_model = True
    options = (
        Option("qe_backward_config", help="backward MT config.yaml", type=Path, keyword="backward_config"),
        Option("qe_backward_model", help="backward MT model .pth", type=Path, keyword="backward_model"),
        Option("qe_batch_size", help="backward model batch size (32)", type=int, keyword="batch_size"),
        Option("qe_device", help="backward model device (cpu)", keyword="device"),
    )

    def __init__(
        self,
        model: "torch.nn.Module",
        preprocess: Callable[[str, Dict[str, Any]], Dict[str, Any]],
        batch_size: int = 32,
        description: Optional[Dict[str, object]] = None,
    ) -> None:
        if batch_size < 1:
            raise QEError(f"qe:backward: batch size must be >= 1, got {batch_size}")
        self.model = model
        self.preprocess = preprocess
        self.batch_size = batch_size
        self.description = dict(description or {})

    @classmethod
    def from_options(cls, options: QEOptions) -> "BackwardScorer":
        if options.backward_config is None or options.backward_model is None:
            raise QEError(
                "qe:backward needs the backward (target → source) MT model: "
                "--qe_backward_config CONFIG.yaml and --qe_backward_model MODEL.pth"
            )
        model, preprocess = load_backward_model(
            options.backward_config, options.backward_model, options.device
        )
        logging.info("qe:backward: loaded %s", options.backward_model)
        return cls(
            model,
            preprocess,
            batch_size=options.batch_size,
            description={
                "config": str(options.backward_config),
                "model": str(options.backward_model),
            },
        )

    def describe(self) -> dict:
        return {"scorer": self.name, **self.description, "batch_size": self.batch_size}

    def token_ids(self, pair: TextPair, key: str) -> Tuple[np.ndarray, np.ndarray]:
        """The token ids of ``(hypothesis, source)`` as the backward model was trained on them."""
        hypothesis, source = pair
        data = self.preprocess(key, {HYP_NAME: hypothesis, SOURCE_NAME: source})
        return data[HYP_NAME], data[SOURCE_NAME]

    def pair_scores(self, pairs: Sequence[TextPair], keys: Sequence[str]) -> List[float]:
        """The value of every pair, in batches of :attr:`batch_size` (similar lengths together)."""
        ids = [self.token_ids(pair, key) for pair, key in zip(pairs, keys)]
        order = sorted(range(len(ids)), key=lambda i: (len(ids[i][0]), len(ids[i][1])))
        values = [0.0] * len(ids)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            batch_values = mean_target_logp(
                self.model, [ids[i][0] for i in batch], [ids[i][1] for i in batch]
            )
            for index, value in zip(batch, batch_values):
                values[index] = value
        return values

    def score(
        self, hyps: Sequence[NBestEntry], sources: Optional[Mapping[str, str]]
    ) -> List[float]:
        pairs = [(hyp.text, source_of(hyp, sources, self.name)) for hyp in hyps]
        return self.pair_scores(pairs, [f"{hyp.utt}-nb{hyp.rank}" for hyp in hyps])
