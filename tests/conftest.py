"""Fixtures shared across test packages: tiny real ESPnet2 models and the data they read.

- ``asr_setup`` / ``mt_setup``: a randomly initialised tiny ASR / MT model saved as ESPnet's
  trainer saves one (``<eos>`` bias raised so hypotheses end at varied lengths), with a data dir
  of :data:`tests.tasks.tiny_espnet.NBEST_TEXTS` (the n-best engine, CLIs, reliability tests);
- ``kd_env``: word-KD teachers (ASR, another ASR, MT), their token lists and a data dir with
  speech shapes (the word-KD tasks, ``dump_topk``; helpers in :mod:`tests.tasks.word_kd_helpers`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest

from tests.tasks import tiny_espnet as tiny


@pytest.fixture(scope="module")
def asr_setup(tmp_path_factory) -> Dict[str, Path]:
    root = tmp_path_factory.mktemp("asr")
    token_list = tiny.write_lines(root / "tokens.txt", tiny.TOKENS)
    config, model_file, model = tiny.make_asr_model(root / "model", token_list, seed=3)
    tiny.bias_eos(model, model_file, 2.5)
    data_dir = tiny.write_wav_data(root / "data", tiny.NBEST_TEXTS, seed=5)
    return {"root": root, "config": config, "model_file": model_file, "data_dir": data_dir}


@pytest.fixture(scope="module")
def mt_setup(tmp_path_factory) -> Dict[str, Path]:
    root = tmp_path_factory.mktemp("mt")
    token_list = tiny.write_lines(root / "tokens.txt", tiny.TOKENS)
    src_token_list = tiny.write_lines(root / "src_tokens.txt", tiny.SRC_TOKENS)
    config, model_file, model = tiny.make_mt_model(root / "model", token_list, src_token_list, seed=4)
    tiny.bias_eos(model, model_file, 1.5)
    data_dir = tiny.write_wav_data(root / "data", tiny.NBEST_TEXTS, seed=6, src_texts=tiny.NBEST_SRC_TEXTS)
    return {"root": root, "config": config, "model_file": model_file, "data_dir": data_dir}


@pytest.fixture(scope="module")
def kd_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("tasks")
    data = tiny.write_wav_data(root / "data", tiny.KD_TEXTS, src_texts=tiny.KD_SRC_TEXTS)
    tiny.write_lines(root / "data" / "speech_shape",
                     [f"{u} {2400 + 400 * i}" for i, u in enumerate(sorted(tiny.KD_TEXTS))])
    tokens = tiny.write_lines(root / "tokens.txt", tiny.TOKENS)
    src_tokens = tiny.write_lines(root / "src_tokens.txt", tiny.SRC_TOKENS)
    return dict(
        root=root, data=data, tokens=tokens, src_tokens=src_tokens,
        asr_teacher=tiny.make_asr_model(root / "asr_teacher", tokens, seed=1)[:2],
        other_teacher=tiny.make_asr_model(root / "other_teacher", tokens, seed=5)[:2],
        mt_teacher=tiny.make_mt_model(root / "mt_teacher", tokens, src_tokens, seed=2)[:2],
    )
