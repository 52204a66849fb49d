"""Teacher n-best lists with beam search batched across utterances.

Decode a data set (or one job's share of it)::

    python -m espnet_kd.bin.nbest --task asr \\
        --model_config exp/teacher/config.yaml --model_file exp/teacher/valid.acc.ave.pth \\
        --data_dir dump/raw/train [--input_file wav.scp] [--key_file keys.1.scp] \\
        --config conf/decode_nbest.yaml --nbest 4 --out_dir exp/teacher/nbest_train/logdir/output.1

Merge the jobs of a split decode (utterance order)::

    python -m espnet_kd.bin.nbest --merge --model_config exp/teacher/config.yaml \\
        --out_dir exp/teacher/nbest_train exp/teacher/nbest_train/logdir/output.*

Loads any ESPnet2 ASR, ST or MT model (``--task``) from its config and checkpoint
(strictly: a checkpoint that does not match the config is refused) and writes
``nbest.jsonl`` (score, teacher log-prob, per-token log-probs, per-scorer
scores, ``ended``), ESPnet-style ``{n}best_recog/{text,token,token_int,score}``
and ``summary.json``. Decoding options come from ``--config`` (the YAML of
``espnet2.bin.asr_inference``: beam_size, ctc_weight, penalty, maxlenratio,
minlenratio, nbest, ...) and are overridden by the options given here. A rerun
resumes: finished utterances are kept in ``OUT_DIR/partial.jsonl``, whose first
line records the search options and the model's fingerprint (sha256 of the
checkpoint and config); a rerun with other search options or another model is
refused (naming the options that differ and the dir to remove), and so is a
merge of jobs decoded under different ones. ``--batch_size``, ``--batch_frames``,
``--sort_window``, ``--num_threads`` and ``--ngpu`` do not change the hypotheses
and may differ between runs.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import yaml

from espnet_kd.nbest.beam_search import BeamSearchError, BeamSearchOptions
from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.fileio import read_text, read_text_lines
from espnet_kd.utils.lock import locked_out_dir

PROG = "nbest"
SEARCH_OPTION_NAMES = [f.name for f in fields(BeamSearchOptions)]
# keys of ESPnet's decoding YAMLs this engine accepts as no-ops at their neutral value
NEUTRAL_CONFIG_KEYS = {"lm_weight": 0.0, "ngram_weight": 0.0, "batch_size": 1}


def get_parser() -> argparse.ArgumentParser:
    """The command-line interface (``--name_with_underscores`` or ``--name-with-dashes``)."""
    parser = argparse.ArgumentParser(
        prog=f"python -m espnet_kd.bin.{PROG}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(
        parser,
        [
            ("task", dict(choices=["asr", "st", "mt"], default="asr", help="the model's ESPnet2 task")),
            ("model_config", dict(type=Path, required=True, help="the model's config.yaml")),
            ("model_file", dict(type=Path, default=None, help="the model's checkpoint (.pth)")),
            ("data_dir", dict(type=Path, default=None, help="the data dir to decode")),
            (
                "input_file",
                dict(default=None, help="the input file in --data_dir: wav.scp (asr/st, default), "
                     "feats.scp, or the source text for mt (e.g. text.en)"),
            ),
            ("key_file", dict(type=Path, default=None, help="decode only these utterances")),
            ("out_dir", dict(type=Path, required=True, help="where to write")),
            ("config", dict(type=Path, default=None, help="decoding options (ESPnet's decode YAML)")),
            ("beam_size", dict(type=int, default=None)),
            ("nbest", dict(type=int, default=None, help="hypotheses kept per utterance")),
            ("ctc_weight", dict(type=float, default=None)),
            ("penalty", dict(type=float, default=None, help="length bonus per token")),
            ("maxlenratio", dict(type=float, default=None)),
            ("minlenratio", dict(type=float, default=None)),
            ("pre_beam_ratio", dict(type=float, default=None)),
            ("normalize_length", dict(type=str2bool, default=None)),
            ("batch_size", dict(type=int, default=32, help="most utterances per decoding batch")),
            ("batch_frames", dict(type=int, default=0, help="most padded encoder frames per batch (0: no limit)")),
            ("sort_window", dict(type=int, default=512, help="utterances sorted by length together")),
            ("max_input_length", dict(type=int, default=0, help="refuse longer inputs (samples or tokens; 0: no limit)")),
            ("empty_inputs", dict(default="error", choices=["error", "empty_output"],
                                  help="an empty text input: an error, or an empty hypothesis (a test set's empty "
                                       "transcript)")),
            ("ngpu", dict(type=int, default=0, choices=[0, 1], help="1: decode on the GPU")),
            ("num_threads", dict(type=int, default=0, help="torch CPU threads (0: torch's default)")),
            ("progress", dict(type=str2bool, default=True, help="show a progress bar")),
        ],
    )
    parser.add_argument("--merge", action="store_true", help="merge the JOB_DIRs' outputs into --out_dir")
    parser.add_argument("job_dirs", nargs="*", type=Path, metavar="JOB_DIR")
    return parser


def str2bool(value: str) -> bool:
    """``true``/``false`` (also yes/no, 1/0) for boolean options."""
    lowered = value.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def read_decode_config(path: Optional[Path]) -> Dict[str, Any]:
    """The search options of an ESPnet decoding YAML; unknown keys are refused."""
    if path is None:
        return {}
    if not path.is_file():
        raise ValueError(f"decoding config not found: {path}")
    loaded = yaml.safe_load(read_text(path)) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a mapping of option: value")
    options: Dict[str, Any] = {}
    for key, value in loaded.items():
        if key in SEARCH_OPTION_NAMES:
            options[key] = value
        elif key in NEUTRAL_CONFIG_KEYS:
            if value != NEUTRAL_CONFIG_KEYS[key]:
                raise ValueError(
                    f"{path}: {key}={value} is not supported by the batched engine "
                    f"(only {NEUTRAL_CONFIG_KEYS[key]}); decode with espnet2.bin.asr_inference"
                )
        else:
            raise ValueError(
                f"{path}: unknown decoding option {key!r}; known: "
                + ", ".join(SEARCH_OPTION_NAMES + sorted(NEUTRAL_CONFIG_KEYS))
            )
    return options


def search_options(args: argparse.Namespace) -> BeamSearchOptions:
    """Options from the config file, overridden by those given on the command line."""
    values = read_decode_config(args.config)
    for name in SEARCH_OPTION_NAMES:
        given = getattr(args, name, None)
        if given is not None:
            values[name] = given
    return BeamSearchOptions(**values)


def token_list_of(model_config: Path) -> List[str]:
    """The target token list of a model config (inline list or path to tokens.txt)."""
    config = yaml.safe_load(read_text(model_config)) or {}
    tokens = config.get("token_list")
    if isinstance(tokens, str):
        tokens = read_text_lines(tokens)
    if not isinstance(tokens, list) or not tokens:
        raise ValueError(f"{model_config} has no token_list")
    return [str(token) for token in tokens]


def run_merge(args: argparse.Namespace) -> None:
    from espnet_kd.nbest.outputs import merge_outputs

    if not args.job_dirs:
        raise ValueError("--merge needs the job output dirs as arguments")
    merge_outputs(args.job_dirs, args.out_dir, token_list_of(args.model_config))


def run_decode(args: argparse.Namespace) -> None:
    import torch

    from espnet_kd.nbest.engine import BatchingOptions, decode_data_set
    from espnet_kd.teacher import load_teacher
    from espnet_kd.utils.fingerprint import model_fingerprint

    if args.job_dirs:
        raise ValueError(f"unexpected arguments {args.job_dirs} (only --merge takes job dirs)")
    if args.data_dir is None or args.model_file is None:
        raise ValueError("decoding needs --data_dir and --model_file")
    if args.input_file is None:
        if args.task == "mt":
            raise ValueError("--task mt needs --input_file, the source text in --data_dir (e.g. text.en)")
        args.input_file = "wav.scp"
    options = search_options(args)
    if args.num_threads > 0:
        torch.set_num_threads(args.num_threads)
    device = "cpu"
    if args.ngpu > 0:
        if not torch.cuda.is_available():
            raise ValueError("--ngpu 1 but no CUDA device is visible")
        device = "cuda"
    teacher = load_teacher(args.task, args.model_config, args.model_file, device, role="model")
    summary = decode_data_set(
        teacher,
        args.data_dir / args.input_file,
        args.out_dir,
        options,
        BatchingOptions(args.batch_size, args.batch_frames, args.sort_window),
        key_file=args.key_file,
        max_input_length=args.max_input_length,
        show_progress=args.progress,
        model=model_fingerprint(args.model_file, args.model_config),
        empty_inputs=args.empty_inputs,
    )
    logging.getLogger(PROG).info("wrote %s/nbest.jsonl (%d hypotheses)", args.out_dir, summary["hypotheses"])


def main(argv: Optional[Sequence[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    from espnet_kd.nbest.format import NBestFormatError
    from espnet_kd.nbest.outputs import NBestDataError
    from espnet_kd.teacher import TeacherError

    try:
        with locked_out_dir(args.out_dir):   # one run at a time per --out_dir (espnet_kd/utils/lock.py)
            if args.merge:
                run_merge(args)
            else:
                run_decode(args)
    except (ValueError, BeamSearchError, NBestDataError, NBestFormatError, TeacherError, OSError) as error:
        fail(str(error))


if __name__ == "__main__":
    main()
