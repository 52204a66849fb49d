"""Adding a selection method or a QE scorer is one class: every other part learns of it.

The classes here are defined in the test, registered with their decorator, and then
known to the recipes' method table (espnet_kd.methods), its shell interface
(espnet_kd.bin.methods) and the selection command line (espnet_kd.bin.select, with the
options the class declares), without any other file naming them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Type

import pytest

from espnet_kd.bin import methods as methods_cli
from espnet_kd.bin import select as select_cli
from espnet_kd.methods import known_methods, method_label, method_tag, resolve_method
from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.abs_selector import AbsSelector, Selected, SelectorError
from espnet_kd.select.options import Option
from espnet_kd.select.qe.abs_qe_scorer import AbsQEScorer, QEOptions
from espnet_kd.select.qe.registry import QE_SCORER_CLASSES, register_qe_scorer
from espnet_kd.select.registry import known_methods as selector_usages
from espnet_kd.select.registry import register_selector, unregister_selector


@pytest.fixture
def worst_selector() -> Iterator[Type[AbsSelector]]:
    """``worst:N``: the hypothesis of rank N from the end (a method no file of the package knows)."""

    @register_selector
    class WorstSelector(AbsSelector):
        method = "worst"
        usage = "worst:N"
        aliases = {"lastkd": "1"}
        options = (Option("worst_min_rank", help="worst: never pick a rank below this", type=int),)

        def __init__(self, n: int, worst_min_rank: int = 1, on_empty: str = "reference") -> None:
            super().__init__(on_empty=on_empty)
            self.n, self.min_rank = n, worst_min_rank

        @classmethod
        def check_argument(cls, argument: Optional[str]) -> None:
            if argument is None or not argument.isdigit():
                raise SelectorError(f"worst needs a number, got {argument!r}")

        @classmethod
        def label(cls, argument: Optional[str], task: str) -> str:
            return f"Anti-Seq-KD ({task}, rank -{argument})"

        @classmethod
        def tasks(cls, argument: Optional[str]) -> tuple:
            return ("asr",)

        @classmethod
        def from_argument(cls, argument: Optional[str], **options: object) -> "WorstSelector":
            cls.check_argument(argument)
            return cls(int(argument or 0), **options)  # type: ignore[arg-type]

        def describe(self) -> dict:
            return {**super().describe(), "n": self.n, "min_rank": self.min_rank}

        def choose(self, utt: str, hyps: Sequence[NBestEntry], reference: Optional[str]) -> List[Selected]:
            ranked = sorted(hyps, key=lambda hyp: hyp.rank)
            pick = ranked[min(max(len(ranked) - self.n, self.min_rank - 1), len(ranked) - 1)]
            return [Selected(utt=utt, text=pick.text, source_utt=utt, rank=pick.rank)]

    yield WorstSelector
    unregister_selector(WorstSelector)


def test_methods_table_knows_the_new_method(worst_selector: Type[AbsSelector]) -> None:
    method = resolve_method("lastkd", "asr")
    assert (method.name, method.tag, method.kind, method.select) == ("worst:1", "worst1", "selection", "worst:1")
    assert method_tag("worst:2") == "worst2"
    assert method_label("worst:2", "asr") == "Anti-Seq-KD (asr, rank -2)"
    assert "worst:None" not in known_methods("asr") and "worst" in known_methods("asr")
    assert "worst" not in known_methods("st")


def test_methods_cli_knows_the_new_method(worst_selector: Type[AbsSelector], capsys) -> None:
    methods_cli.main(["shell", "--task", "asr", "baseline", "lastkd"])
    assert capsys.readouterr().out.splitlines()[:4] == [
        "method_names=(baseline worst:1)",
        "method_tags=(baseline worst1)",
        "method_kinds=(reference selection)",
        "method_select=('' worst:1)",
    ]
    methods_cli.main(["list", "--task", "asr"])
    assert "worst\tworst\tAnti-Seq-KD (asr, rank -None)" in capsys.readouterr().out.splitlines()
    with pytest.raises(SystemExit):
        methods_cli.main(["shell", "--task", "st", "worst:1"])
    assert "method 'worst:1' is not one the st recipe accepts" in capsys.readouterr().err


def test_select_cli_takes_the_new_method_and_its_option(
    worst_selector: Type[AbsSelector], nbest_jsonl: Path, source_dir: Path, tmp_path: Path, capsys
) -> None:
    assert "--worst_min_rank" in select_cli.get_parser().format_help()
    common = ["--nbest_jsonl", str(nbest_jsonl), "--data_dir", str(source_dir), "--method", "worst:3"]
    select_cli.main([*common, "--out_dir", str(tmp_path / "plain")])
    out = tmp_path / "train_worst3"
    select_cli.main([*common, "--out_dir", str(out), "--worst-min-rank", "3"])
    # without the option: the 3rd from the end, i.e. rank 1 (spkA-u2's empty rank 1 → its reference)
    assert (tmp_path / "plain" / "text").read_text() == "spkA-u1 one two tree\nspkA-u2 four five\nspkB-u1 six\n"
    # with it: at least rank 3 where there is one (spkA-u1), else the last (spkA-u2: 2, spkB-u1: 1)
    assert (out / "text").read_text() == "spkA-u1 one too three\nspkA-u2 four five\nspkB-u1 six\n"
    report = json.loads((out / "select_report.json").read_text())
    assert report["method"]["min_rank"] == 3 and report["reasons"] == {}
    assert report["made_with"]["options"]["worst_min_rank"] == 3
    # an option of the new method, given to another, is refused like --weights is
    with pytest.raises(SystemExit):
        select_cli.main(["--nbest_jsonl", str(nbest_jsonl), "--data_dir", str(source_dir), "--method", "1best",
                         "--out_dir", str(tmp_path / "x"), "--worst_min_rank", "2"])
    assert ("ERROR: select: method 1best does not take option(s) worst_min_rank; it takes: on_empty"
            in capsys.readouterr().err)


class TokenCountScorer(AbsQEScorer):
    """Fewer tokens is better, at least ``--qe_min_tokens`` (a scorer no file of the package knows)."""

    name = "tokens"
    options = (Option("qe_min_tokens", help="tokens: the fewest tokens counted", type=int, keyword="min_tokens"),)

    def __init__(self, min_tokens: int) -> None:
        self.min_tokens = min_tokens

    @classmethod
    def from_options(cls, options: QEOptions) -> "TokenCountScorer":
        return cls(options.value("min_tokens", 0))

    def describe(self) -> dict:
        return {"scorer": self.name, "min_tokens": self.min_tokens}

    def score(self, hyps, sources) -> List[float]:
        return [-max(len(hyp.text.split()), self.min_tokens) for hyp in hyps]


@pytest.fixture
def token_scorer() -> Iterator[Type[AbsQEScorer]]:
    register_qe_scorer(TokenCountScorer)
    yield TokenCountScorer
    del QE_SCORER_CLASSES[TokenCountScorer.name]


def test_new_qe_scorer_everywhere(
    token_scorer: Type[AbsQEScorer], nbest_jsonl: Path, source_dir: Path, tmp_path: Path, capsys
) -> None:
    assert method_tag("qe:tokens") == "qetokens" and "qe:tokens" in known_methods("asr")
    assert method_label("qe:tokens", "st") == "Seq-Inter with QE (tokens)"
    assert "qe:{logp,backward,combined,tokens}" in selector_usages()
    out = tmp_path / "train_qetokens"
    select_cli.main(["--nbest_jsonl", str(nbest_jsonl), "--data_dir", str(source_dir), "--method", "qe:tokens",
                     "--out_dir", str(out), "--qe_min_tokens", "2"])
    report = json.loads((out / "select_report.json").read_text())
    assert report["method"]["qe"] == {"scorer": "tokens", "min_tokens": 2}
    # spkA-u1: every hypothesis has 3 tokens, the tie goes to rank 1; spkA-u2: "" counts as 2,
    # like "four five": rank 1, empty, is replaced by the reference
    assert (out / "text").read_text() == "spkA-u1 one two tree\nspkA-u2 four five\nspkB-u1 six\n"
    with pytest.raises(SystemExit):
        select_cli.main(["--nbest_jsonl", str(nbest_jsonl), "--data_dir", str(source_dir), "--method", "topk:2",
                         "--out_dir", str(tmp_path / "x"), "--qe_min_tokens", "2"])
    assert "ERROR: select: --qe_min_tokens applies to the qe:* methods only, not to topk:2" in capsys.readouterr().err
