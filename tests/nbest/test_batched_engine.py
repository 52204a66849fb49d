"""The batched n-best engine against ESPnet's own decoders (the oracle), on tiny real models.

Each model is a randomly initialised tiny ESPnet2 model saved as ESPnet's
trainer saves one; its ``<eos>`` output bias is raised so that hypotheses end
at varied lengths. The engine decodes a data dir in batches; ESPnet's
``Speech2Text`` / ``Text2Text`` decode the same utterances one at a time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List

import pytest
import torch

from espnet_kd.nbest.beam_search import BeamSearchOptions
from espnet_kd.nbest.engine import BatchingOptions, NBestDataError, decode_data_set
from espnet_kd.nbest.format import read_nbest_jsonl
from espnet_kd.teacher import TeacherError, load_teacher
from tests.tasks import tiny_espnet as tiny
from tests.tasks.tiny_espnet import NBEST_TEXTS as TEXTS

def espnet_asr_nbest(setup, options: BeamSearchOptions) -> Dict[str, list]:
    """ESPnet's Speech2Text (batch size 1) on every utterance: {utt: [(token_ids, score)]}."""
    import soundfile
    from espnet2.bin.asr_inference import Speech2Text

    speech2text = Speech2Text(
        asr_train_config=str(setup["config"]), asr_model_file=str(setup["model_file"]),
        beam_size=options.beam_size, ctc_weight=options.ctc_weight, lm_weight=0.0,
        penalty=options.penalty, nbest=options.nbest, maxlenratio=options.maxlenratio,
        minlenratio=options.minlenratio,
    )
    results = {}
    for line in (setup["data_dir"] / "wav.scp").read_text().splitlines():
        utt, path = line.split()
        speech, _ = soundfile.read(path, dtype="float32")
        results[utt] = [(token_int, float(hyp.score)) for _, _, token_int, hyp in speech2text(speech)]
    return results


def espnet_mt_nbest(setup, options: BeamSearchOptions) -> Dict[str, list]:
    """ESPnet's Text2Text on every source sentence, tokenised by ESPnet's MT preprocessor."""
    from espnet2.bin.mt_inference import Text2Text
    from espnet2.tasks.mt import MTTask

    text2text = Text2Text(
        mt_train_config=str(setup["config"]), mt_model_file=str(setup["model_file"]),
        beam_size=options.beam_size, ctc_weight=0.0, lm_weight=0.0, penalty=options.penalty,
        nbest=options.nbest, maxlenratio=options.maxlenratio, minlenratio=options.minlenratio,
    )
    preprocess = MTTask.build_preprocess_fn(text2text.mt_train_args, False)
    results = {}
    for line in (setup["data_dir"] / "text.src").read_text().splitlines():
        utt, text = line.split(maxsplit=1)
        src = preprocess(utt, {"src_text": text})["src_text"]
        results[utt] = [(token_int, float(hyp.score)) for _, _, token_int, hyp in text2text(src)]
    return results


def ours(setup, options, out_dir: Path, task="asr", input_name="wav.scp", batch_size=4) -> Dict[str, list]:
    teacher = load_teacher(task, setup["config"], setup["model_file"])
    decode_data_set(
        teacher, setup["data_dir"] / input_name, out_dir, options,
        BatchingOptions(batch_size=batch_size), show_progress=False,
    )
    return read_nbest_jsonl(out_dir / "nbest.jsonl")


def assert_agrees(espnet: Dict[str, list], nbest: Dict[str, list]) -> None:
    """Every rank of every utterance: same tokens, score within 1e-3."""
    assert sorted(espnet) == sorted(nbest)
    for utt, expected in espnet.items():
        got = nbest[utt]
        assert [entry.token_int for entry in got] == [tokens for tokens, _ in expected], utt
        for entry, (_, score) in zip(got, expected):
            assert entry.score == pytest.approx(score, abs=1e-3), utt


@pytest.mark.parametrize("ctc_weight", [0.3, 0.0])
def test_asr_nbest_equals_espnet(asr_setup, tmp_path: Path, ctc_weight: float) -> None:
    options = BeamSearchOptions(beam_size=3, nbest=3, ctc_weight=ctc_weight)
    nbest = ours(asr_setup, options, tmp_path / "out")
    assert_agrees(espnet_asr_nbest(asr_setup, options), nbest)
    entry = nbest["utt00"][0]
    # per-scorer parts add up to the ranking score; logp is the decoder's part
    expected_parts = {"decoder", "ctc"} if ctc_weight else {"decoder"}
    assert set(entry.scores) == expected_parts
    weighted = (1 - ctc_weight) * entry.scores["decoder"] + ctc_weight * entry.scores.get("ctc", 0.0)
    assert entry.score == pytest.approx(weighted, abs=1e-4)
    assert entry.logp == pytest.approx(entry.scores["decoder"], abs=1e-4)
    assert len(entry.token_logp) == len(entry.token_int) and entry.ended


def test_mt_nbest_equals_espnet(mt_setup, tmp_path: Path) -> None:
    options = BeamSearchOptions(beam_size=4, nbest=2, penalty=0.5)
    nbest = ours(mt_setup, options, tmp_path / "out", task="mt", input_name="text.src")
    assert_agrees(espnet_mt_nbest(mt_setup, options), nbest)
    assert set(nbest["utt01"][0].scores) == {"decoder", "length_bonus"}


def test_batch_size_does_not_change_results(asr_setup, tmp_path: Path) -> None:
    options = BeamSearchOptions(beam_size=3, nbest=2, ctc_weight=0.5)
    one = ours(asr_setup, options, tmp_path / "b1", batch_size=1)
    many = ours(asr_setup, options, tmp_path / "b9", batch_size=9)
    for utt in one:
        assert [e.token_int for e in one[utt]] == [e.token_int for e in many[utt]]
        for a, b in zip(one[utt], many[utt]):
            assert a.score == pytest.approx(b.score, abs=1e-4)


def test_length_limit_is_reported_not_dropped(tmp_path: Path, asr_setup) -> None:
    """A model that never says <eos> stops at maxlen; the hypotheses are kept with ended=false."""
    token_list = asr_setup["root"] / "tokens.txt"
    config, model_file, model = tiny.make_asr_model(tmp_path / "never", token_list, seed=3)
    tiny.bias_eos(model, model_file, -50.0)
    setup = dict(asr_setup, config=config, model_file=model_file)
    options = BeamSearchOptions(beam_size=2, nbest=2, ctc_weight=0.0, maxlenratio=-4)
    nbest = ours(setup, options, tmp_path / "out")
    assert all(len(e.token_int) == 4 and not e.ended for hyps in nbest.values() for e in hyps)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert len(summary["not_ended"]) == 2 * len(TEXTS)
    # ESPnet closes them the same way (it appends an <eos> without scoring it)
    assert_agrees(espnet_asr_nbest(setup, options), nbest)


def test_resume_after_interruption(asr_setup, tmp_path: Path) -> None:
    options = BeamSearchOptions(beam_size=3, nbest=2, ctc_weight=0.3)
    clean = ours(asr_setup, options, tmp_path / "clean", batch_size=3)
    partial_lines = (tmp_path / "clean" / "partial.jsonl").read_text().splitlines()
    resumed_dir = tmp_path / "resumed"
    resumed_dir.mkdir()
    # the header line, three utterances done, then a line torn by the interruption
    assert '"header"' in partial_lines[0]
    (resumed_dir / "partial.jsonl").write_text("\n".join(partial_lines[:4]) + "\n" + partial_lines[4][:20])
    teacher = load_teacher("asr", asr_setup["config"], asr_setup["model_file"])
    summary = decode_data_set(
        teacher, asr_setup["data_dir"] / "wav.scp", resumed_dir, options,
        BatchingOptions(batch_size=3), show_progress=False,
    )
    assert summary["decoded_now"] == len(TEXTS) - 3
    assert read_nbest_jsonl(resumed_dir / "nbest.jsonl") == clean
    # a finished dir: nothing decoded again
    again = decode_data_set(teacher, asr_setup["data_dir"] / "wav.scp", resumed_dir, options,
                            show_progress=False)
    assert again["decoded_now"] == 0


def test_missing_audio_is_a_clear_error(asr_setup, tmp_path: Path) -> None:
    data_dir = tiny.write_wav_data(tmp_path / "data", {"a1": "ab", "a2": "cd"})
    (data_dir / "wav" / "a2.wav").unlink()
    teacher = load_teacher("asr", asr_setup["config"], asr_setup["model_file"])
    with pytest.raises(NBestDataError, match=r"1 of 2 input file\(s\) listed in .*wav.scp do not exist: a2 \(.*a2.wav\)"):
        decode_data_set(teacher, data_dir / "wav.scp", tmp_path / "out", BeamSearchOptions(beam_size=2),
                        show_progress=False)
    assert not (tmp_path / "out" / "nbest.jsonl").exists()


def test_key_file_with_unknown_utterance(asr_setup, tmp_path: Path) -> None:
    keys = tiny.write_lines(tmp_path / "keys", ["utt01", "nope"])
    teacher = load_teacher("asr", asr_setup["config"], asr_setup["model_file"])
    with pytest.raises(NBestDataError, match=r"1 utterance\(s\) of .*keys are not in .*wav.scp: nope"):
        decode_data_set(teacher, asr_setup["data_dir"] / "wav.scp", tmp_path / "out",
                        BeamSearchOptions(beam_size=2), key_file=keys, show_progress=False)


def test_checkpoint_of_another_config_is_refused(asr_setup, tmp_path: Path) -> None:
    token_list = asr_setup["root"] / "tokens.txt"
    _, bigger_file, _ = tiny.make_asr_model(
        tmp_path / "bigger", token_list, seed=0, extra=["--decoder_conf", "num_blocks=2"]
    )
    with pytest.raises(TeacherError, match=r"does not match the model built from .*config.yaml: \d+ unexpected: decoder.decoders.1"):
        load_teacher("asr", asr_setup["config"], bigger_file)
    _, wider_file, _ = tiny.make_asr_model(
        tmp_path / "wider", token_list, seed=0, extra=["--decoder_conf", "linear_units=24"]
    )
    with pytest.raises(TeacherError, match=r"shape mismatch \(checkpoint vs config\): decoder.decoders.0.feed_forward.w_1.weight \(24, 8\) vs \(16, 8\)"):
        load_teacher("asr", asr_setup["config"], wider_file)


def test_ctc_weight_without_ctc_branch(mt_setup) -> None:
    from espnet_kd.nbest.beam_search import BeamSearchError
    from espnet_kd.nbest.engine import build_search

    teacher = load_teacher("mt", mt_setup["config"], mt_setup["model_file"])
    if teacher.ctc is not None:
        pytest.fail("the tiny MT model unexpectedly has a CTC branch")
    with pytest.raises(BeamSearchError, match="the model has no CTC branch"):
        build_search(teacher, BeamSearchOptions(beam_size=2, ctc_weight=0.3))


def test_empty_source_is_an_error_or_an_empty_hypothesis(mt_setup, tmp_path: Path) -> None:
    sources = dict(tiny.NBEST_SRC_TEXTS, utt03="")
    source_file = tiny.write_lines(tmp_path / "text.src", [f"{utt} {text}".rstrip() for utt, text in sorted(sources.items())])
    teacher = load_teacher("mt", mt_setup["config"], mt_setup["model_file"])
    options = BeamSearchOptions(beam_size=3, nbest=2)
    with pytest.raises(NBestDataError, match=r"1 empty input\(s\) in .*text.src: utt03 \(--empty_inputs empty_output"):
        decode_data_set(teacher, source_file, tmp_path / "refused", options, show_progress=False)
    assert not (tmp_path / "refused" / "nbest.jsonl").exists()
    summary = decode_data_set(teacher, source_file, tmp_path / "out", options, show_progress=False,
                              empty_inputs="empty_output")
    nbest = read_nbest_jsonl(tmp_path / "out" / "nbest.jsonl")
    assert set(nbest) == set(sources)
    assert [(hyp.rank, hyp.text, hyp.token_int, hyp.logp, hyp.ended) for hyp in nbest["utt03"]] == [(1, "", [], 0.0, True)]
    assert "utt03" in json.dumps(summary["empty_hypotheses"])
    # every other utterance is decoded as without the empty one (up to float rounding: other batches)
    clean = ours(mt_setup, options, tmp_path / "clean", task="mt", input_name="text.src")
    for utt in set(sources) - {"utt03"}:
        assert [hyp.token_int for hyp in nbest[utt]] == [hyp.token_int for hyp in clean[utt]]
        assert [hyp.logp for hyp in nbest[utt]] == pytest.approx([hyp.logp for hyp in clean[utt]], abs=1e-4)
