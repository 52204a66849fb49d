"""NIST SPHERE reading and writing, checked against hand-made bytes and libsndfile."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from espnet_kd.utils.audio import AudioError, plain_file_rate, read_entry
from espnet_kd.utils.sphere import (
    CompressedSphereError, SphereError, format_header, is_sphere_file, parse_header, read_header, read_sphere,
    write_sphere,
)


def hand_made_sphere(byte_format: str, payload: bytes, coding: str = "pcm", count: int = 2) -> bytes:
    """A 1024-byte header typed out field by field, then ``payload``."""
    text = (
        "NIST_1A\n   1024\n"
        "database_id -s7 WSJ0 x\n"            # a string field holding a space
        f"sample_count -i {count}\n"
        "sample_rate -i 16000\n"
        "channel_count -i 1\n"
        "sample_n_bytes -i 2\n"
        f"sample_byte_format -s2 {byte_format}\n"
        f"sample_coding -s{len(coding)} {coding}\n"
        "sample_max -r 1.5e3\n"
        "end_head\n"
    ).encode("ascii")
    return text + b"\n" * (1024 - len(text)) + payload


def test_header_fields_are_parsed_with_their_types():
    header = parse_header(hand_made_sphere("01", b"\x01\x02\x03\x04"), "x.wv1")
    assert header.header_size == 1024
    assert (header.sample_rate, header.channel_count, header.sample_n_bytes) == (16000, 1, 2)
    assert header.sample_byte_format == "01" and header.sample_coding == "pcm" and header.sample_count == 2
    assert header.fields["database_id"] == "WSJ0 x"
    assert header.fields["sample_max"] == 1500.0
    assert not header.is_compressed and not header.big_endian


@pytest.mark.parametrize("byte_format, expected", [("01", [0x0201, 0x0403]), ("10", [0x0102, 0x0304])])
def test_byte_orders_give_the_hand_computed_samples(tmp_path, byte_format, expected):
    path = tmp_path / "a.wv1"
    path.write_bytes(hand_made_sphere(byte_format, b"\x01\x02\x03\x04"))
    samples, rate = read_sphere(path)
    assert rate == 16000 and samples.dtype == np.int16
    assert samples.tolist() == expected


def test_negative_samples_and_sample_count_limit(tmp_path):
    path = tmp_path / "neg.sph"
    # -2 little-endian is fe ff; a trailing odd byte and a third sample beyond sample_count are ignored
    path.write_bytes(hand_made_sphere("01", b"\xfe\xff\x00\x80\x05\x00\x07", count=2))
    samples, _ = read_sphere(path)
    assert samples.tolist() == [-2, -32768]


def test_truncated_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "short.wv1"
    path.write_bytes(hand_made_sphere("01", b"\x01\x02", count=5))
    with pytest.raises(SphereError, match=r"short\.wv1.*5 samples.*holds 1"):
        read_sphere(path)


@pytest.mark.parametrize("byte_format, endian", [("01", "LITTLE"), ("10", "BIG")])
def test_round_trip_against_libsndfile(tmp_path, byte_format, endian):
    rng = np.random.default_rng(7)
    samples = rng.integers(-32768, 32767, size=4001, dtype=np.int16)
    ours = tmp_path / "ours.wv1"
    write_sphere(ours, samples, 16000, byte_format=byte_format)
    read_back, rate = soundfile.read(ours, dtype="int16")        # libsndfile reads our file
    assert rate == 16000 and np.array_equal(read_back, samples)
    theirs = tmp_path / "theirs.sph"
    soundfile.write(theirs, samples, 8000, format="NIST", subtype="PCM_16", endian=endian)
    header = read_header(theirs)
    assert header.sample_byte_format == byte_format
    ours_read, rate = read_sphere(theirs)                          # we read libsndfile's file
    assert rate == 8000 and np.array_equal(ours_read, samples)


def test_stereo_is_read_as_frames_by_channels(tmp_path):
    stereo = np.array([[1, -1], [2, -2], [3, -3]], dtype=np.int16)
    path = tmp_path / "st.sph"
    write_sphere(path, stereo, 16000, byte_format="10")
    samples, _ = read_sphere(path)
    assert samples.shape == (3, 2) and np.array_equal(samples, stereo)
    assert np.array_equal(soundfile.read(path, dtype="int16")[0], stereo)
    mono, _ = read_entry(str(path))                                # wav.scp reading keeps channel 1
    assert mono.tolist() == [1, 2, 3]


def test_shorten_file_error_names_sph2pipe(tmp_path):
    path = tmp_path / "c.wv1"
    path.write_bytes(hand_made_sphere("10", b"ajkg\x00\x01junk", coding="pcm,embedded-shorten-v2.00"))
    assert read_header(path).is_compressed
    with pytest.raises(CompressedSphereError, match="sph2pipe"):
        read_sphere(path)
    with pytest.raises(AudioError, match=r"c\.wv1.*shorten.*install sph2pipe"):
        read_entry(str(path))


def test_wav_scp_reading_uses_the_sphere_reader(tmp_path):
    samples = (np.arange(300, dtype=np.int16) - 150) * 100
    path = tmp_path / "u.wv1"
    write_sphere(path, samples, 16000)
    assert is_sphere_file(path) and not is_sphere_file(tmp_path / "missing.wv1")
    assert plain_file_rate(str(path)) is None                      # formatting converts it to WAV
    read_back, rate = read_entry(str(path))
    assert rate == 16000 and np.array_equal(read_back, samples)


@pytest.mark.parametrize("data, message", [
    (b"RIFF....", "not a NIST SPHERE"),
    (b"NIST_1A\n  abc\n", "header size"),
    (b"NIST_1A\n   1024\nsample_rate -i 16000\n", "ends inside"),
    (b"NIST_1A\n   1024\nsample_rate 16000\nend_head\n".ljust(1024), "bad header line"),
    (b"NIST_1A\n   1024\nsample_rate -i 16000\n".ljust(1024), "no 'end_head'"),
    (b"NIST_1A\n   1024\nchannel_count -i 1\nend_head\n".ljust(1024), "no sample_rate"),
    (b"NIST_1A\n   1024\nsample_rate -i x\nend_head\n".ljust(1024), "bad -i value"),
])
def test_malformed_headers_are_clear_errors(data, message):
    with pytest.raises(SphereError, match=message):
        parse_header(data, "bad.sph")


def test_format_header_refuses_overflow():
    with pytest.raises(SphereError, match="more than the header size"):
        format_header({"comment": "x" * 2000})
