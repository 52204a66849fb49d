"""The distributed tests' data and teachers: 8 equal-length utterances, a tiny ASR and MT teacher, a top-k cache."""

from __future__ import annotations

import pytest

from tests.distributed import ddp_helpers as ddp
from tests.tasks import tiny_espnet as tiny


@pytest.fixture(scope="module")
def ddp_env(tmp_path_factory):
    from espnet_kd.bin import dump_topk

    root = tmp_path_factory.mktemp("ddp")
    data = ddp.write_data(root / "data")
    tokens = tiny.write_lines(root / "tokens.txt", tiny.TOKENS)
    src_tokens = tiny.write_lines(root / "src_tokens.txt", tiny.SRC_TOKENS)
    asr_teacher = tiny.make_asr_model(root / "asr_teacher", tokens, seed=1)[:2]
    mt_teacher = tiny.make_mt_model(root / "mt_teacher", tokens, src_tokens, seed=2)[:2]
    cache = root / "topk"
    dump_topk.main(["--teacher_kind", "asr", "--teacher_config", str(asr_teacher[0]),
                    "--teacher_model_file", str(asr_teacher[1]),
                    "--data_path_and_name_and_type", f"{data}/wav.scp,speech,sound",
                    "--data_path_and_name_and_type", f"{data}/text,text,text",
                    "--out_dir", str(cache), "--k", "4", "--batch_size", "4", "--num_shards", "2"])
    return dict(root=root, data=data, tokens=tokens, src_tokens=src_tokens, asr_teacher=asr_teacher,
                mt_teacher=mt_teacher, cache=cache)
