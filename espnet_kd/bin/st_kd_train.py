"""Train an ST student by word-level KD from a frozen MT teacher, with ESPnet's trainer.

Takes every option of ``espnet2.bin.st_train`` plus the ``--kd_*`` options (the teacher, ``--kd_lambda``,
``--kd_temperature``, ``--kd_topk``, ``--kd_loss``; :mod:`espnet_kd.tasks.word_kd`)::

    python -m espnet_kd.bin.st_kd_train --config conf/train_st_wordkd.yaml \\
        --kd_teacher_config exp/mt_teacher/config.yaml --kd_teacher_model_file exp/mt_teacher/valid.acc.ave.pth \\
        --train_data_path_and_name_and_type dump/raw/train/text.en,src_text,text ...

The MT teacher reads ``src_text`` tokenised with its own source vocabulary (taken from
its config when ``--src_token_list`` is not given). With a ``kd_topk`` stream for every
data set the teacher is not run and ``src_text`` is not needed.
"""

from __future__ import annotations

from typing import List, Optional

from espnet_kd.tasks.st_word_kd import STWordKDTask


def main(argv: Optional[List[str]] = None) -> None:
    STWordKDTask.main(cmd=argv)


if __name__ == "__main__":
    main()
