"""Train an ASR student by word-level KD from a frozen ASR teacher, with ESPnet's trainer.

Takes every option of ``espnet2.bin.asr_train`` plus the ``--kd_*`` options (the teacher, ``--kd_lambda``,
``--kd_temperature``, ``--kd_topk``, ``--kd_loss``; :mod:`espnet_kd.tasks.word_kd`)::

    python -m espnet_kd.bin.asr_kd_train --config conf/train_student_wordkd.yaml \\
        --kd_teacher_config exp/teacher/config.yaml --kd_teacher_model_file exp/teacher/valid.acc.ave.pth \\
        [--train_data_path_and_name_and_type exp/teacher/topk_train,kd_topk,kd_topk ...] ...

With a ``kd_topk`` stream (``python -m espnet_kd.bin.dump_topk``) for every data set the
teacher is not run; without, it runs online. The student's ``config.yaml`` keeps
``model: espnet`` and its checkpoints hold the student only, so ESPnet's
``asr_inference`` decodes them as any ESPnet ASR model.
"""

from __future__ import annotations

from typing import List, Optional

from espnet_kd.tasks.asr_word_kd import ASRWordKDTask


def main(argv: Optional[List[str]] = None) -> None:
    ASRWordKDTask.main(cmd=argv)


if __name__ == "__main__":
    main()
