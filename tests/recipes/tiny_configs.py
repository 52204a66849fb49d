"""The tiny corpus and configs the recipe tests run mini_synth with (seconds per training, not hours).

Every test that runs a mini_synth recipe end to end (tests/recipes, tests/reliability,
tests/jobs) passes one of these lists first, then its own options.
"""

from __future__ import annotations

ASR_TINY = [
    "--local_data_opts", "--size tiny --nj 2",
    "--teacher_config", "conf/tuning/train_teacher_tiny.yaml",
    "--student_config", "conf/tuning/train_student_tiny.yaml",
    "--nbest_config", "conf/tuning/decode_nbest_tiny.yaml",
    "--inference_config", "conf/tuning/decode_tiny.yaml",
    "--nj", "2",
]

ST_TINY = [
    "--local_data_opts", "--size tiny --nj 2",
    "--mt_config", "conf/tuning/train_mt_tiny.yaml",
    "--backward_mt_config", "conf/tuning/train_mt_tiny.yaml",
    "--wordkd_config", "conf/tuning/train_st_wordkd_tiny.yaml",
    "--st_config", "conf/tuning/train_st_tiny.yaml",
    "--finetune_config", "conf/tuning/finetune_st_tiny.yaml",
    "--mt_nbest_config", "conf/tuning/decode_mt_nbest_tiny.yaml",
    "--mt_inference_config", "conf/tuning/decode_mt_tiny.yaml",
    "--st_inference_config", "conf/tuning/decode_st_tiny.yaml",
    "--src_nbpe", "60", "--tgt_nbpe", "60",
    "--nbest", "4", "--nj", "2",
]
