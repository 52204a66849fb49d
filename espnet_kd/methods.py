"""The student methods of the recipes, in one table: names, directory tags, table labels.

A recipe trains one student per method in its list (``asr.sh --methods``, ``st.sh --methods``).
A method is

- ``baseline`` (kind ``reference``): trained on the references;
- a selection method (kind ``selection``): trained on the pseudo-labels
  ``espnet_kd.bin.select --method <spec>`` writes; every method registered in
  :mod:`espnet_kd.select.registry` (``1best``, alias ``seqkd``; ``topk:K``;
  ``interp:bleu|chrf|wer``; ``qe:<scorer>``), each class giving its own tag, labels,
  aliases and the tasks that accept it;
- ``wordkd`` (kind ``wordkd``): word-level KD from the teacher's token distributions;
- ``wordkd_ft`` (kind ``wordkd_ft``): the ``wordkd`` student fine-tuned on the references;
- ``wordkd_ctc`` (kind ``wordkd_ctc``, ASR only): word-level KD plus CTC-branch KD, the frame-level
  KL between the teacher's and the student's CTC posteriors (:mod:`espnet_kd.kd.ctc_kd`);
- ``<selection>+unlabeled`` (kind ``selection``, ``unlabeled`` true): a reference-free selection method
  (``1best+unlabeled``, ``seqkd+unlabeled``, ``topk:4+unlabeled``, ``qe:logp+unlabeled``) applied to the
  training set and to the recipe's untranscribed sets (``--unlabeled_sets``): the student trains on both.
  Its tag is the base method's with ``_unl`` (``seqkd_unl``), its label the base label with
  ``+ unlabeled``; ``base_tag`` names the student without the unlabeled sets, which the results table
  compares it with. A method that needs references (``interp:*``) or is not a selection is refused.

The *tag* names the method's directories (``exp/student_<tag>[_seedN]``,
``dump/raw/<train_set>_<tag>``): ``1best`` → ``seqkd``, otherwise the spec without
``:``, ``,``, ``=`` and with other non-alphanumerics as ``_`` (``topk:4`` → ``topk4``).
The *label* is the results table's name for it, per task (the ASR and ST tables have
always spelt some differently). The shell scripts read this table once per run through
``python -m espnet_kd.bin.methods shell``.

This module imports no torch or espnet2 (the selectors load their models lazily).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from espnet_kd.select import registry as selector_registry  # registers the built-in selectors
from espnet_kd.select.abs_selector import TASKS, SelectorError, method_spec

KIND_REFERENCE = "reference"
KIND_SELECTION = "selection"
KIND_WORDKD = "wordkd"
KIND_WORDKD_FT = "wordkd_ft"
KIND_WORDKD_CTC = "wordkd_ctc"
KINDS = (KIND_REFERENCE, KIND_SELECTION, KIND_WORDKD, KIND_WORDKD_FT, KIND_WORDKD_CTC)
#: ``<method>+unlabeled``: the method applied to the training set and to the untranscribed sets too
UNLABELED_SUFFIX = "+unlabeled"
#: what the unlabeled variant adds to its base method's tag and label
UNLABELED_TAG_SUFFIX = "_unl"
UNLABELED_LABEL_SUFFIX = " + unlabeled"
#: the kinds of students that read the teacher's word-level top-k (``need_topk``)
WORD_KD_KINDS = (KIND_WORDKD, KIND_WORDKD_FT, KIND_WORDKD_CTC)


class MethodError(ValueError):
    """A method name is unknown, not accepted by a task, or a method list is inconsistent."""


@dataclass(frozen=True)
class Method:
    """One student method: its canonical name, kind, tag, labels and the tasks that accept it.

    ``select`` is the ``espnet_kd.bin.select --method`` spec of a selection method
    (``""`` for the others); ``labels`` the results tables' names by task;
    ``needs_backward_model`` whether it needs the ST recipe's backward MT model; ``unlabeled``
    whether the student also trains on the untranscribed sets, ``base_tag`` then the tag of the
    same method without them (``""`` otherwise).
    """

    name: str
    kind: str
    tag: str
    labels: Mapping[str, str]
    tasks: Tuple[str, ...]
    select: str = ""
    needs_backward_model: bool = False
    unlabeled: bool = False
    base_tag: str = ""

    def label(self, task: str) -> str:
        """The results table's name for the method in ``task``; :class:`MethodError` for a task without one."""
        if task not in self.labels:
            raise MethodError(f"method {self.name!r} is not one the {task} recipe accepts "
                              f"(it is for {', '.join(self.tasks)})")
        return self.labels[task]


@dataclass(frozen=True)
class StudentMethod:
    """A method that is not a pseudo-label selection: its name, kind, labels by task and the tasks
    that accept it (those it has a label for)."""

    name: str
    kind: str
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def tasks(self) -> Tuple[str, ...]:
        return tuple(task for task in TASKS if task in self.labels)

    def method(self) -> Method:
        return Method(self.name, self.kind, self.name, dict(self.labels), self.tasks)


# The ASR table has always named these students "references", "wordkd" and "wordkd_ft".
BASELINE = StudentMethod("baseline", KIND_REFERENCE, {"asr": "references", "st": "Baseline (references)"})
WORDKD = StudentMethod("wordkd", KIND_WORDKD, {"asr": "wordkd", "st": "Word KD"})
WORDKD_FT = StudentMethod("wordkd_ft", KIND_WORDKD_FT, {"asr": "wordkd_ft", "st": "Word KD + fine-tuning"})
# ASR only: the ST student's teacher is an MT model, which has no speech encoder frames to distil
WORDKD_CTC = StudentMethod("wordkd_ctc", KIND_WORDKD_CTC, {"asr": "wordkd + CTC KD"})
STUDENTS_BEFORE_SELECTION = (BASELINE,)
STUDENTS_AFTER_SELECTION = (WORDKD, WORDKD_FT, WORDKD_CTC)


def student_methods() -> Dict[str, StudentMethod]:
    """The methods that are not selections, by name."""
    return {student.name: student for student in (*STUDENTS_BEFORE_SELECTION, *STUDENTS_AFTER_SELECTION)}


def check_task(task: Optional[str]) -> None:
    """Raise :class:`MethodError` unless ``task`` is ``None`` or one of :data:`TASKS`."""
    if task is not None and task not in TASKS:
        raise MethodError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")


def selection_method(name: str) -> Optional[Method]:
    """The selection method ``name`` (an alias resolved), ``None`` if no selector has that name.

    An invalid argument (``topk:x``) raises :class:`MethodError` with the selector's message.
    """
    found = selector_registry.find_selector(name, with_aliases=True)
    if found is None:
        return None
    cls, argument = found
    try:
        cls.check_argument(argument)
    except SelectorError as error:
        raise MethodError(str(error)) from None
    spec = method_spec(cls.method, argument)
    return Method(
        name=spec,
        kind=KIND_SELECTION,
        tag=cls.tag(argument),
        labels={task: cls.label(argument, task) for task in TASKS},
        tasks=tuple(cls.tasks(argument)),
        select=spec,
        needs_backward_model=cls.needs_backward_model(argument),
    )


def unlabeled_method(name: str, task: Optional[str]) -> Method:
    """``<method>+unlabeled``: the reference-free selection ``<method>`` on the training set and on the
    untranscribed sets. Raises :class:`MethodError` when ``<method>`` is not a selection method, or needs
    the references the untranscribed sets do not have."""
    base_name = name[: -len(UNLABELED_SUFFIX)]
    base = resolve_method(base_name, task)
    if base.unlabeled:
        raise MethodError(f"{name!r}: {UNLABELED_SUFFIX} is given once (e.g. 1best{UNLABELED_SUFFIX})")
    if base.kind != KIND_SELECTION:
        raise MethodError(
            f"{name!r}: only a pseudo-label selection can label untranscribed audio, and {base_name!r} is "
            f"not one (it trains on references or on the teacher's distributions); reference-free "
            f"selections: {', '.join(reference_free_selections(task))}"
        )
    found = selector_registry.find_selector(base.select, with_aliases=True)
    if found is not None and found[0].needs_reference:
        raise MethodError(
            f"{name!r}: {base.select} picks the hypothesis nearest the reference, and an untranscribed set "
            f"has none; reference-free selections: {', '.join(reference_free_selections(task))}"
        )
    return Method(
        name=base.name + UNLABELED_SUFFIX,
        kind=KIND_SELECTION,
        tag=base.tag + UNLABELED_TAG_SUFFIX,
        labels={each: label + UNLABELED_LABEL_SUFFIX for each, label in base.labels.items()},
        tasks=base.tasks,
        select=base.select,
        needs_backward_model=base.needs_backward_model,
        unlabeled=True,
        base_tag=base.tag,
    )


def reference_free_selections(task: Optional[str]) -> List[str]:
    """The selection methods (placeholders such as ``topk:K`` included) that need no reference."""
    names = []
    for cls in selector_registry.SELECTOR_CLASSES.values():
        if cls.needs_reference:
            continue
        for argument in cls.listed_arguments(task or TASKS[0]):
            if task is None or task in cls.tasks(argument):
                names.append(method_spec(cls.method, argument))
    return names


def listed_methods(task: str) -> List[Tuple[str, str, str]]:
    """``(name, tag, label)`` of every method ``task`` accepts, in table order.

    A method whose argument is a number is listed with its placeholder (``topk:K``, tag ``topkK``).
    """
    check_task(task)
    rows = [(student.name, student.name, student.labels[task]) for student in STUDENTS_BEFORE_SELECTION
            if task in student.tasks]
    for cls in selector_registry.SELECTOR_CLASSES.values():
        for argument in cls.listed_arguments(task):
            if task in cls.tasks(argument):
                rows.append((method_spec(cls.method, argument), cls.tag(argument), cls.label(argument, task)))
    rows += [(student.name, student.name, student.labels[task]) for student in STUDENTS_AFTER_SELECTION
             if task in student.tasks]
    return rows


def known_methods(task: str) -> List[str]:
    """The names of the methods ``task``'s recipe accepts (``topk:K`` for every K)."""
    return [name for name, _, _ in listed_methods(task)]


def aliases_of(task: str) -> Dict[str, str]:
    """Every alias the methods of ``task`` have, with the name it stands for."""
    aliases = {}
    for cls in selector_registry.SELECTOR_CLASSES.values():
        for alias, argument in cls.aliases.items():
            if task in cls.tasks(argument):
                aliases[alias] = method_spec(cls.method, argument)
    return aliases


def accepted_summary(task: str) -> str:
    """The methods of ``task`` for an error message: ``baseline, 1best (seqkd), ...``."""
    alias_by_name: Dict[str, List[str]] = {}
    for alias, name in aliases_of(task).items():
        alias_by_name.setdefault(name, []).append(alias)
    return ", ".join(
        f"{name} ({', '.join(alias_by_name[name])})" if name in alias_by_name else name
        for name in known_methods(task)
    ) + f"; a reference-free selection with {UNLABELED_SUFFIX} (e.g. 1best{UNLABELED_SUFFIX}) also trains on --unlabeled_sets"


def resolve_method(name: str, task: Optional[str] = None) -> Method:
    """The method ``name`` names (an alias such as ``seqkd`` resolved to ``1best``).

    With a ``task``, a method that task's recipe does not accept is refused. Raises
    :class:`MethodError` naming the methods the task accepts (all tasks' if ``task`` is None).
    """
    check_task(task)
    name = name.strip()
    if name.endswith(UNLABELED_SUFFIX):
        return unlabeled_method(name, task)
    students = student_methods()
    method = students[name].method() if name in students else selection_method(name)
    if method is None:
        if task is None:
            known = "; ".join(f"{each}: {accepted_summary(each)}" for each in TASKS)
            raise MethodError(f"unknown method {name!r}; known methods by task: {known}")
        raise MethodError(f"unknown method {name!r}; the {task} recipe accepts: {accepted_summary(task)}")
    if task is not None and task not in method.tasks:
        raise MethodError(
            f"method {name!r} is not one the {task} recipe accepts (it is for {', '.join(method.tasks)}); "
            f"{task} accepts: {accepted_summary(task)}"
        )
    return method


def method_tag(name: str) -> str:
    """The directory-name form of a method (``1best`` → ``seqkd``, ``topk:4`` → ``topk4``)."""
    return resolve_method(name).tag


def method_label(name: str, task: str) -> str:
    """The ``task`` results table's name for a method (``interp:bleu`` → ``Seq-Inter (BLEU)``)."""
    check_task(task)
    return resolve_method(name).label(task)


def resolve_methods(names: Sequence[str], task: str) -> List[Method]:
    """Check a recipe's method list and resolve every name, in the given order.

    Refused with :class:`MethodError`: an empty list, an unknown method or one ``task``
    does not accept, ``wordkd_ft`` without ``wordkd`` before it, two methods with the
    same tag (their students would share a directory).
    """
    check_task(task)
    if not names:
        raise MethodError(f"no methods given; the {task} recipe accepts: {accepted_summary(task)}")
    methods = [resolve_method(name, task) for name in names]
    seen_kinds: List[str] = []
    by_tag: Dict[str, str] = {}
    for name, method in zip(names, methods):
        if method.kind == KIND_WORDKD_FT and KIND_WORDKD not in seen_kinds:
            raise MethodError("wordkd_ft fine-tunes the wordkd student; list wordkd before it")
        if method.tag in by_tag:
            raise MethodError(
                f"methods {by_tag[method.tag]!r} and {name!r} have the same tag {method.tag!r} "
                "(one student directory); list each method once"
            )
        by_tag[method.tag] = name
        seen_kinds.append(method.kind)
    return methods
