"""The recipes' student methods, for the shell scripts and for users (:mod:`espnet_kd.methods`).

``shell`` checks a method list and prints bash assignments, one per line, values
quoted with ``shlex.quote``; a stage script evaluates them once per run::

    $ python -m espnet_kd.bin.methods shell --task asr baseline 1best topk:4
    method_names=(baseline 1best topk:4)
    method_tags=(baseline seqkd topk4)
    method_kinds=(reference selection selection)
    method_select=('' 1best topk:4)
    method_unlabeled=(false false false)
    method_base_tags=('' '' '')
    need_nbest=true
    need_topk=false
    need_backward=false
    need_unlabeled=false

``method_names`` are the canonical names (aliases resolved: ``seqkd`` → ``1best``),
``method_tags`` their directory names (``exp/student_<tag>``, ``dump/raw/<set>_<tag>``),
``method_kinds`` one of ``reference selection wordkd wordkd_ft wordkd_ctc``, ``method_select`` the
``espnet_kd.bin.select --method`` of a selection method (``''`` otherwise);
``need_nbest``: a selection method is listed, ``need_topk``: ``wordkd``, ``wordkd_ft`` or ``wordkd_ctc``
(ASR only; it also reads the teacher's CTC top-k, ``asr.sh`` stage 8),
``need_backward``: a QE scorer that reads the backward MT model (``qe:backward``,
``qe:combined``); ``method_unlabeled`` whether a student also trains on the untranscribed sets
(``1best+unlabeled``: tag ``seqkd_unl``), ``method_base_tags`` then its method's tag without them
(``seqkd``; ``''`` otherwise), ``need_unlabeled``: such a method is listed. A METHOD argument may hold several names separated by spaces.

``list --task st`` prints every method the task accepts: name, tag, label (tab-separated).

An unknown method, one the task does not accept, ``wordkd_ft`` without ``wordkd`` before
it, two methods with the same tag or an empty list end with ``ERROR: <message>`` and
exit status 1.
"""

from __future__ import annotations

import argparse
import shlex
from typing import List, Optional, Sequence

from espnet_kd.methods import (
    KIND_SELECTION,
    TASKS,
    WORD_KD_KINDS,
    Method,
    MethodError,
    listed_methods,
    resolve_methods,
)
from espnet_kd.utils.cli import fail

PROG = "methods"


def bash_array(name: str, values: Sequence[str]) -> str:
    """``name=(v1 v2 ...)``, each value quoted for bash."""
    return f"{name}=({' '.join(shlex.quote(value) for value in values)})"


def bash_bool(name: str, value: bool) -> str:
    """``name=true`` or ``name=false``."""
    return f"{name}={'true' if value else 'false'}"


def shell_assignments(methods: Sequence[Method]) -> List[str]:
    """The bash assignments ``shell`` prints for resolved ``methods``."""
    kinds = [method.kind for method in methods]
    return [
        bash_array("method_names", [method.name for method in methods]),
        bash_array("method_tags", [method.tag for method in methods]),
        bash_array("method_kinds", kinds),
        bash_array("method_select", [method.select for method in methods]),
        bash_array("method_unlabeled", ["true" if method.unlabeled else "false" for method in methods]),
        bash_array("method_base_tags", [method.base_tag for method in methods]),
        bash_bool("need_nbest", KIND_SELECTION in kinds),
        bash_bool("need_topk", any(kind in WORD_KD_KINDS for kind in kinds)),
        bash_bool("need_backward", any(method.needs_backward_model for method in methods)),
        bash_bool("need_unlabeled", any(method.unlabeled for method in methods)),
    ]


def split_names(arguments: Sequence[str]) -> List[str]:
    """The method names of the arguments (an argument may hold several, space-separated)."""
    return [name for argument in arguments for name in argument.split()]


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m espnet_kd.bin.{PROG}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    shell = commands.add_parser("shell", help="check a method list, print bash assignments")
    shell.add_argument("--task", choices=TASKS, required=True)
    shell.add_argument("methods", nargs="*", metavar="METHOD")
    listing = commands.add_parser("list", help="print name, tag and label of every method of a task")
    listing.add_argument("--task", choices=TASKS, required=True)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Print the assignments or the list; a bad method list ends with ``ERROR: <message>``, status 1."""
    args = get_parser().parse_args(argv)
    if args.command == "list":
        for row in listed_methods(args.task):
            print("\t".join(row))
        return
    try:
        methods = resolve_methods(split_names(args.methods), args.task)
    except MethodError as error:
        fail(f"{PROG}: {error}")
    print("\n".join(shell_assignments(methods)))


if __name__ == "__main__":
    main()
