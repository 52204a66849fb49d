"""Fake ESPnet decoding output dirs, laid out as espnet2/bin/asr_inference.py writes them."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

import pytest

# token ids: 0 <blank>, 1 <unk>, 2 hello, 3 world, 4 good, 5 bye, 6 <sos/eos>
TOKENS = ["<blank>", "<unk>", "hello", "world", "good", "bye", "<sos/eos>"]

# job dir -> rank -> [(utt, text, token_int, score as ESPnet printed it)]
Hyp = Tuple[str, str, str, str]
JOBS: Dict[str, Dict[int, List[Hyp]]] = {
    "output.1": {
        1: [
            ("spk1-u1", "hello world", "2 3", "tensor(-1.5)"),
            ("spk1-u2", "good bye", "4 5", "tensor(-2.25, device='cuda:0')"),
        ],
        2: [
            ("spk1-u1", "hello", "2", "tensor(-3.0)"),
            ("spk1-u2", "good", "4", "-4.125"),
        ],
        3: [("spk1-u1", "world", "3", "tensor(-5.5)")],
    },
    "output.2": {
        1: [
            ("spk2-u1", "bye bye", "5 5", "tensor(-0.5)"),
            ("spk2-u2", "", "", "tensor(-9.0)"),
        ],
        2: [("spk2-u1", "bye", "5", "tensor(-1.0)")],
        3: [("spk2-u1", "good bye", "4 5", "tensor(-2.0)")],
        4: [("spk2-u1", "hello", "2", "tensor(-7.0)")],
    },
}


def write_espnet_output(job_dir: Path, ranks: Dict[int, List[Hyp]]) -> Path:
    """Write ``{n}best_recog/{text,token,token_int,score}`` the way ESPnet's DatadirWriter does."""
    for rank, hyps in ranks.items():
        rank_dir = job_dir / f"{rank}best_recog"
        rank_dir.mkdir(parents=True, exist_ok=True)
        columns = {"text": [], "token": [], "token_int": [], "score": []}
        for utt, text, token_int, score in hyps:
            tokens = " ".join(TOKENS[int(i)] for i in token_int.split())
            columns["text"].append(f"{utt} {text}\n")
            columns["token"].append(f"{utt} {tokens}\n")
            columns["token_int"].append(f"{utt} {token_int}\n")
            columns["score"].append(f"{utt} {score}\n")
        for name, lines in columns.items():
            (rank_dir / name).write_text("".join(lines), encoding="utf-8")
    return job_dir


@pytest.fixture
def espnet_jobs(tmp_path: Path) -> List[Path]:
    """Two job dirs of a split decode (nbest 4): fewer hyps for some utts, one empty hyp."""
    logdir = tmp_path / "decode" / "logdir"
    return [write_espnet_output(logdir / name, ranks) for name, ranks in JOBS.items()]


@pytest.fixture
def token_list_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.txt"
    path.write_text("".join(token + "\n" for token in TOKENS), encoding="utf-8")
    return path
