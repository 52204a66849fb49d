"""espeak-ng synthesis: determinism, voices, noise level, wav format."""

from __future__ import annotations

import random

import numpy as np
import pytest
import soundfile

from espnet_kd.corpora.espeak import EspeakError, SpeechRequest, check_voice, get_engine
from espnet_kd.corpora.synth import (
    SAMPLE_RATE,
    SNR_DB_RANGE,
    add_noise,
    mean_power,
    sample_synthesis_params,
    synthesize_utterance,
    synthesize_utterances,
    write_wav,
)
from espnet_kd.corpora.voices import EVAL_VOICES, HELD_OUT_VOICES, TRAIN_VOICES, VOICES_BY_SET, speaker_id

TEXT = "maria buys two thousand three hundred and forty five red apples on monday"
OTHER = "on sunday we see eleven small black cats"


def test_engine_is_deterministic_whatever_was_said_before():
    engine = get_engine()
    first = engine.synthesize(TEXT, "en+f3", rate=170, pitch=50, pitch_range=50)
    engine.synthesize(OTHER, "en+m1", rate=200, pitch=30, pitch_range=70)
    again = engine.synthesize(TEXT, "en+f3", rate=170, pitch=50, pitch_range=50)
    assert first.dtype == np.int16 and first.size > engine.sample_rate
    assert np.array_equal(first, again)


def test_batches_are_deterministic():
    engine = get_engine()
    requests = [SpeechRequest(TEXT, "en+f4", 160), SpeechRequest(OTHER, "en-us+m2", 190, 40, 60)]
    first = engine.synthesize_batch(requests)
    engine.synthesize(OTHER, "en+m3")
    second = engine.synthesize_batch(requests)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


def test_parameters_change_the_audio():
    engine = get_engine()
    base = engine.synthesize(OTHER, "en+m1", rate=160)
    assert not np.array_equal(base, engine.synthesize(OTHER, "en+f2", rate=160))
    assert engine.synthesize(OTHER, "en+m1", rate=200).size < base.size


def test_bad_requests_are_refused():
    engine = get_engine()
    with pytest.raises(ValueError, match="variant"):
        engine.synthesize(OTHER, "en+nosuchvoice")
    with pytest.raises(ValueError, match="language"):
        engine.synthesize(OTHER, "xx+m1")
    with pytest.raises(ValueError, match="empty"):
        engine.synthesize("  ", "en+m1")
    with pytest.raises(ValueError, match="rate"):
        engine.synthesize(OTHER, "en+m1", rate=10)
    assert issubclass(EspeakError, RuntimeError)


def test_voices_exist_and_held_out_voices_are_not_trained_on():
    for voice in TRAIN_VOICES + EVAL_VOICES:
        check_voice(voice)
    assert len(set(TRAIN_VOICES + HELD_OUT_VOICES)) >= 6
    assert not set(HELD_OUT_VOICES) & set(TRAIN_VOICES)
    assert set(VOICES_BY_SET["dev"]) == set(VOICES_BY_SET["test"]) >= set(HELD_OUT_VOICES)
    speakers = [speaker_id(voice) for voice in TRAIN_VOICES + EVAL_VOICES]
    assert speaker_id("en-us+m2") == "enus_m2" and speaker_id("en+f3") == "en_f3"
    assert all(speaker.replace("_", "").isalnum() for speaker in speakers)


def test_add_noise_hits_the_requested_snr():
    rng = np.random.default_rng(0)
    clean = np.sin(np.arange(32000) / 7.0) * 3000.0
    for snr_db, colour in ((15.0, 0.0), (25.0, 0.5), (35.0, 0.9)):
        noisy = add_noise(clean, snr_db, colour, rng)
        measured = 10 * np.log10(mean_power(clean) / mean_power(noisy - clean))
        assert measured == pytest.approx(snr_db, abs=1e-6)


def test_utterance_audio_is_16k_int16_and_not_silent(tmp_path):
    params = sample_synthesis_params(random.Random(0), "en+f3")
    samples = synthesize_utterance(TEXT, params)
    assert samples.dtype == np.int16
    duration = samples.size / SAMPLE_RATE
    assert 2.0 < duration < 8.0
    assert np.sqrt(mean_power(samples.astype(float))) > 300
    assert np.array_equal(samples, synthesize_utterance(TEXT, params))
    # the leading silence holds only noise, at about the requested level below the speech
    lead = samples[: int(params.lead_silence_s * SAMPLE_RATE) - 1].astype(float)
    speech = samples[int(params.lead_silence_s * SAMPLE_RATE) + 1: -int(params.trail_silence_s * SAMPLE_RATE) - 1]
    snr = 10 * np.log10((mean_power(speech.astype(float)) - mean_power(lead)) / mean_power(lead))
    assert SNR_DB_RANGE[0] <= params.snr_db <= SNR_DB_RANGE[1]
    assert snr == pytest.approx(params.snr_db, abs=2.5)

    path = tmp_path / "utt.wav"
    write_wav(path, samples)
    info = soundfile.info(str(path))
    assert (info.samplerate, info.channels, info.subtype, info.format) == (16000, 1, "PCM_16", "WAV")
    read, rate = soundfile.read(str(path), dtype="int16")
    assert rate == 16000 and np.array_equal(read, samples)


def test_batched_utterances_match_their_single_params():
    rng = random.Random(3)
    items = [(TEXT, sample_synthesis_params(rng, "en+m1")), (OTHER, sample_synthesis_params(rng, "en+f4"))]
    first = synthesize_utterances(items)
    second = synthesize_utterances(items)
    assert len(first) == 2 and all(np.array_equal(a, b) for a, b in zip(first, second))


def test_synthesis_prints_nothing_on_stdout(capfd):
    get_engine().synthesize(OTHER, "en+m3")
    synthesize_utterance(OTHER, sample_synthesis_params(random.Random(1), "en-us+f2"))
    captured = capfd.readouterr()
    assert captured.out == ""
