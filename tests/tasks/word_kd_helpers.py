"""Helpers of the word-KD tests: the top-k dump, a student's command line, building a task's model.

Each takes ``kd_env``, the fixture of tests/conftest.py (tiny teachers and data).
"""

from tests.tasks import tiny_espnet as tiny


def dump(kd_env, out_dir, kind="asr", teacher=None, k=4, extra=()):
    from espnet_kd.bin import dump_topk

    config, model_file = teacher or kd_env[f"{kind}_teacher"]
    source = f"{kd_env['data']}/wav.scp,speech,sound" if kind == "asr" else f"{kd_env['data']}/text.src,src_text,text"
    dump_topk.main(["--teacher_kind", kind, "--teacher_config", str(config), "--teacher_model_file", str(model_file),
                    "--data_path_and_name_and_type", source,
                    "--data_path_and_name_and_type", f"{kd_env['data']}/text,text,text",
                    "--out_dir", str(out_dir), "--k", str(k), "--batch_size", "4", *extra])
    return out_dir


def student_argv(kd_env, kind="asr", cache=None, k=4, teacher=None, tokens=None, src_text=None):
    config, model_file = teacher or kd_env[f"{'asr' if kind == 'asr' else 'mt'}_teacher"]
    data = kd_env["data"]
    argv = ["--token_list", str(tokens or kd_env["tokens"]), "--token_type", "char",
            "--output_dir", str(kd_env["root"] / f"student_{kind}"),
            *(tiny.ASR_MODEL_OPTIONS if kind == "asr" else tiny.ST_MODEL_OPTIONS),
            "--kd_teacher_config", str(config), "--kd_teacher_model_file", str(model_file),
            "--kd_topk", str(k), "--kd_lambda", "0.5"]
    for split in ("train", "valid"):
        argv += [f"--{split}_data_path_and_name_and_type", f"{data}/wav.scp,speech,sound",
                 f"--{split}_data_path_and_name_and_type", f"{data}/text,text,text",
                 f"--{split}_shape_file", f"{data}/speech_shape"]
        if cache is not None:
            argv += [f"--{split}_data_path_and_name_and_type", f"{cache},kd_topk,kd_topk"]
        if src_text is not None:
            argv += [f"--{split}_data_path_and_name_and_type", f"{src_text},src_text,text"]
    return argv


def task_of(kind):
    from espnet_kd.tasks.asr_word_kd import ASRWordKDTask
    from espnet_kd.tasks.st_word_kd import STWordKDTask

    return ASRWordKDTask if kind == "asr" else STWordKDTask


def build(kd_env, kind="asr", **kwargs):
    task = task_of(kind)
    args = tiny.parse(task, student_argv(kd_env, kind, **kwargs))
    return task, args, task.build_model(args)
