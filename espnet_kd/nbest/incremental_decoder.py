"""One decoder step for many hypotheses, with the encoder-side attention work done once.

ESPnet's ``TransformerDecoder.forward_one_step`` (what its beam search calls)
recomputes, at every output step and for every hypothesis, the source
attention's key and value projections of the whole encoder output and the
self-attention's projections of the whole prefix. For a beam of ``K`` that is
``K`` copies of the same encoder-side work per step. :class:`IncrementalDecoder`
runs the same layers with the same weights but

* projects each utterance's encoder output to source keys and values once per
  batch, and lets the ``K`` hypotheses of an utterance attend to them by
  broadcasting (no copies);
* caches the self-attention keys and values of the prefix, so a step projects
  only the newest position.

Both are exact rewrites of the same arithmetic (ESPnet's layer outputs for
earlier positions never change), so the log-probabilities equal ESPnet's up to
float rounding; ``tests/nbest/test_incremental_decoder.py`` compares them.

Only ESPnet's plain Transformer decoder layers are supported
(:func:`supports`); :class:`GenericStepDecoder` drives any other decoder with
``forward_one_step`` through ESPnet's own code.
"""

from __future__ import annotations

import math
from typing import List, Optional

import torch

from espnet.nets.pytorch_backend.transformer.attention import MultiHeadedAttention
from espnet.nets.pytorch_backend.transformer.decoder_layer import DecoderLayer
from espnet.nets.pytorch_backend.transformer.embedding import PositionalEncoding


def supports(decoder: torch.nn.Module) -> bool:
    """Whether ``decoder`` is made of plain ESPnet Transformer decoder layers."""
    layers = getattr(decoder, "decoders", None)
    if layers is None or not hasattr(decoder, "embed") or not hasattr(decoder, "output_layer"):
        return False
    for layer in layers:
        if type(layer) is not DecoderLayer or getattr(layer, "sequential_attn", None) is not None:
            return False
        for attention in (layer.self_attn, layer.src_attn):
            if not isinstance(attention, MultiHeadedAttention) or getattr(
                attention, "use_flash_attn", False
            ):
                return False
    return True


def _split_heads(projected: torch.Tensor, heads: int) -> torch.Tensor:
    """(batch, time, heads*d_k) → (batch, heads, time, d_k)."""
    batch, time, size = projected.shape
    return projected.view(batch, time, heads, size // heads).transpose(1, 2)


class IncrementalDecoder:
    """Steps of a Transformer decoder for ``B`` utterances × ``K`` hypotheses.

    Rows are utterance-major (row ``b*K + k``). :meth:`start` takes the padded
    encoder output; :meth:`step` feeds each row's newest token and returns the
    next-token log-probabilities; :meth:`reorder` keeps the rows the beam
    search chose; :meth:`keep_utterances` drops finished utterances.
    """

    def __init__(self, decoder: torch.nn.Module, slots_per_utt: int) -> None:
        if not supports(decoder):
            raise ValueError(f"{type(decoder).__name__} is not a plain Transformer decoder")
        self.decoder = decoder
        self.slots = slots_per_utt
        self.layers: List[DecoderLayer] = list(decoder.decoders)
        self.source_keys: List[torch.Tensor] = []
        self.source_values: List[torch.Tensor] = []
        self.self_keys: List[Optional[torch.Tensor]] = []
        self.self_values: List[Optional[torch.Tensor]] = []
        self.source_mask: Optional[torch.Tensor] = None

    def start(self, memory: torch.Tensor, memory_lengths: torch.Tensor) -> None:
        """Project the encoder output ``(B, T, D)`` for every layer's source attention."""
        frame_ids = torch.arange(memory.shape[1], device=memory.device)
        valid = frame_ids.unsqueeze(0) < memory_lengths.to(memory.device).unsqueeze(1)
        self.source_mask = valid[:, None, None, :]  # (B, 1, 1, T)
        self.source_keys, self.source_values = [], []
        for layer in self.layers:
            attention = layer.src_attn
            keys = attention.k_norm(_split_heads(attention.linear_k(memory), attention.h))
            values = _split_heads(attention.linear_v(memory), attention.h)
            self.source_keys.append(keys)  # (B, H, T, d_k)
            self.source_values.append(values)
        self.self_keys = [None] * len(self.layers)
        self.self_values = [None] * len(self.layers)

    def step(self, prefixes: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``(N, V)`` of the next token after each row's prefix ``(N, L)``."""
        x = self._embed_newest(prefixes)  # (N, 1, D)
        for index, layer in enumerate(self.layers):
            x = self._layer_step(index, layer, x)
        if self.decoder.normalize_before:
            x = self.decoder.after_norm(x)
        return torch.log_softmax(self.decoder.output_layer(x[:, 0]), dim=-1)

    def _embed_newest(self, prefixes: torch.Tensor) -> torch.Tensor:
        """The decoder's input embedding of each row's newest token at its position."""
        embed = self.decoder.embed
        if (
            isinstance(embed, torch.nn.Sequential)
            and len(embed) == 2
            and isinstance(embed[0], torch.nn.Embedding)
            and type(embed[1]) is PositionalEncoding
        ):
            # Embedding then x·sqrt(d) + pe[position], as PositionalEncoding.forward does
            length = prefixes.shape[1]
            positional = embed[1]
            positional.extend_pe(prefixes.new_zeros((1, length), dtype=torch.float))
            newest = embed[0](prefixes[:, -1:])
            return newest * positional.xscale + positional.pe[:, length - 1 : length]
        return embed(prefixes)[:, -1:, :]

    def _layer_step(self, index: int, layer: DecoderLayer, x: torch.Tensor) -> torch.Tensor:
        """ESPnet's DecoderLayer on the newest position: self-attention, source attention, FFN."""
        x = self._sublayer(
            layer, layer.norm1, x, lambda y: self._self_attention(index, layer.self_attn, y),
            getattr(layer, "concat_linear1", None),
        )
        x = self._sublayer(
            layer, layer.norm2, x, lambda y: self._source_attention(index, layer.src_attn, y),
            getattr(layer, "concat_linear2", None),
        )
        return self._sublayer(layer, layer.norm3, x, layer.feed_forward, None)

    @staticmethod
    def _sublayer(layer, norm, x: torch.Tensor, compute, concat_linear) -> torch.Tensor:
        """A residual block: pre- or post-norm, and concat_after for the attentions."""
        residual = x
        if layer.normalize_before:
            x = norm(x)
        output = compute(x)
        if concat_linear is not None and layer.concat_after:
            x = residual + concat_linear(torch.cat((x, output), dim=-1))
        else:
            x = residual + output
        if not layer.normalize_before:
            x = norm(x)
        return x

    def _self_attention(
        self, index: int, attention: MultiHeadedAttention, x: torch.Tensor
    ) -> torch.Tensor:
        """The newest position attends to the whole prefix (no mask: all are earlier)."""
        query = attention.q_norm(_split_heads(attention.linear_q(x), attention.h))
        new_key = attention.k_norm(_split_heads(attention.linear_k(x), attention.h))
        new_value = _split_heads(attention.linear_v(x), attention.h)
        if self.self_keys[index] is None:
            keys, values = new_key, new_value
        else:
            keys = torch.cat((self.self_keys[index], new_key), dim=2)
            values = torch.cat((self.self_values[index], new_value), dim=2)
        self.self_keys[index], self.self_values[index] = keys, values
        scores = torch.matmul(query, keys.transpose(-2, -1)) / math.sqrt(attention.d_k)
        context = torch.matmul(torch.softmax(scores, dim=-1), values)  # (N, H, 1, d_k)
        return attention.linear_out(context.transpose(1, 2).reshape(x.shape[0], 1, -1))

    def _source_attention(
        self, index: int, attention: MultiHeadedAttention, x: torch.Tensor
    ) -> torch.Tensor:
        """Each row attends to its utterance's encoder output, shared by its K slots."""
        rows = x.shape[0]
        utts = rows // self.slots
        query = attention.q_norm(_split_heads(attention.linear_q(x), attention.h))
        # (N, H, 1, d_k) → (B, H, K, d_k): one batched product per utterance and head
        query = query.view(utts, self.slots, attention.h, attention.d_k).transpose(1, 2)
        keys, values = self.source_keys[index], self.source_values[index]  # (B, H, T, d_k)
        scores = torch.matmul(query, keys.transpose(-2, -1)) / math.sqrt(attention.d_k)
        invalid = ~self.source_mask  # (B, 1, 1, T)
        scores = scores.masked_fill(invalid, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1).masked_fill(invalid, 0.0)
        context = torch.matmul(weights, values).transpose(1, 2)  # (B, K, H, d_k)
        return attention.linear_out(context.reshape(rows, 1, -1))

    def reorder(self, source_rows: torch.Tensor) -> None:
        """Row ``i`` continues the hypothesis that was in row ``source_rows[i]``."""
        self.self_keys = [keys[source_rows] for keys in self.self_keys]
        self.self_values = [values[source_rows] for values in self.self_values]

    def keep_utterances(self, keep: torch.Tensor, keep_rows: torch.Tensor) -> None:
        """Drop finished utterances (``keep``: batch indices; ``keep_rows``: their rows)."""
        self.source_keys = [keys[keep] for keys in self.source_keys]
        self.source_values = [values[keep] for values in self.source_values]
        self.source_mask = self.source_mask[keep]
        self.self_keys = [keys[keep_rows] for keys in self.self_keys]
        self.self_values = [values[keep_rows] for values in self.self_values]


class GenericStepDecoder:
    """The same interface over ESPnet's ``forward_one_step`` (any incremental decoder)."""

    def __init__(self, decoder: torch.nn.Module, slots_per_utt: int) -> None:
        self.decoder = decoder
        self.slots = slots_per_utt
        self.cache: Optional[List[torch.Tensor]] = None
        self.memory_rows: Optional[torch.Tensor] = None
        self.memory_mask: Optional[torch.Tensor] = None

    def start(self, memory: torch.Tensor, memory_lengths: torch.Tensor) -> None:
        frame_ids = torch.arange(memory.shape[1], device=memory.device)
        valid = frame_ids.unsqueeze(0) < memory_lengths.to(memory.device).unsqueeze(1)
        self.memory_rows = memory.repeat_interleave(self.slots, dim=0)
        self.memory_mask = valid.repeat_interleave(self.slots, dim=0).unsqueeze(1)
        self.cache = None

    def step(self, prefixes: torch.Tensor) -> torch.Tensor:
        length = prefixes.shape[1]
        causal = torch.tril(
            torch.ones(length, length, dtype=torch.bool, device=prefixes.device)
        ).unsqueeze(0)
        logp, self.cache = self.decoder.forward_one_step(
            prefixes, causal, self.memory_rows, self.memory_mask, cache=self.cache
        )
        return logp

    def reorder(self, source_rows: torch.Tensor) -> None:
        self.cache = [layer_cache[source_rows] for layer_cache in self.cache]

    def keep_utterances(self, keep: torch.Tensor, keep_rows: torch.Tensor) -> None:
        self.cache = [layer_cache[keep_rows] for layer_cache in self.cache]
        self.memory_rows = self.memory_rows[keep_rows]
        self.memory_mask = self.memory_mask[keep_rows]


def build_step_decoder(decoder: torch.nn.Module, slots_per_utt: int):
    """The fast :class:`IncrementalDecoder` where supported, else :class:`GenericStepDecoder`."""
    if supports(decoder):
        return IncrementalDecoder(decoder, slots_per_utt)
    return GenericStepDecoder(decoder, slots_per_utt)
