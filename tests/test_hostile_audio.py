"""Hostile and odd audio: bounded memory and time whatever a file says, no silent
misreading, every error naming its culprit. Every file is generated here.

Three kinds of case, marked in each test's name: ``crash_or_hang`` (a header or a
path that would exhaust memory or block forever), ``silent`` (input that used to be
misread without a word) and ``confusing`` (an error that did not name the culprit).
"""

from __future__ import annotations

import os
import struct
import sys
import tracemalloc
import warnings

import numpy as np
import pytest
import soundfile as sf

from sklearn_ser import LogMel3DTransformer
from sklearn_ser.exceptions import AudioFileError, InvalidSignalError, SignalRangeWarning
from sklearn_ser.io import MAX_SOURCE_SAMPLES, SAMPLE_RATE_RANGE, load_audio, resample

RATE = 16000


def noise(n, seed=0, scale=0.1):
    return scale * np.random.default_rng(seed).standard_normal(n)


def peak_bytes(call):
    tracemalloc.start()
    try:
        call()
    except Exception:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def with_rate(path, rate, *, byte_rate=None):
    """Rewrite a canonical WAV header to claim ``rate`` Hz."""
    data = bytearray(path.read_bytes())
    struct.pack_into("<II", data, 24, rate, byte_rate or rate * 2)
    path.write_bytes(bytes(data))
    return path


# -- crash or hang: headers and paths --------------------------------------------------------

@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])  # the fast path, then libsndfile
def test_crash_or_hang_a_header_claiming_1_hz_is_refused_before_resampling(subtype, tmp_path):
    """A 4 kB file at "1 Hz" used to become 256 MB at 16 kHz (64 kB: out of memory)."""
    path = tmp_path / "one-hertz.wav"
    sf.write(path, noise(2000), RATE, subtype=subtype)
    with_rate(path, 1)
    with pytest.raises(AudioFileError, match=r"one-hertz\.wav.* 1 Hz, outside the 1,000 to "
                                             r"384,000 Hz") as info:
        load_audio(path)
    assert isinstance(info.value, ValueError)
    assert peak_bytes(lambda: load_audio(path)) < 1 << 20
    with pytest.raises(AudioFileError, match=r"one-hertz\.wav"):  # through the front end too
        LogMel3DTransformer().fit([path])


def test_crash_or_hang_resampling_output_is_bounded_before_it_is_computed():
    signal = noise(1 << 20)  # 1 M samples at 1 kHz would become 402 M at 384 kHz
    with pytest.raises(InvalidSignalError, match=r"clip: 1,048,576 samples at 1000 Hz would "
                                                 r"become 402,653,184 at 384000 Hz, more than "
                                                 r"the 268,435,456") as info:
        load_audio((signal, 1000), sample_rate=384000, name="clip")
    assert peak_bytes(lambda: load_audio((signal, 1000), sample_rate=384000)) < 1 << 20
    assert "clip" in str(info.value)
    with pytest.raises(ValueError, match=r"resample: .* more than the 268,435,456"):
        resample(signal, 1000, 384000)
    with pytest.raises(ValueError, match=r"orig_sample_rate=1 must be"):
        resample(signal, 1, 16000)
    with pytest.raises(InvalidSignalError, match=r"pair: sample_rate=1 Hz is outside"):
        load_audio((signal, 1), name="pair")
    with pytest.raises(ValueError, match=r"load_audio: sample_rate=10000000 must be"):
        load_audio(signal, sample_rate=10**7)
    assert SAMPLE_RATE_RANGE == (1000, 384000) and MAX_SOURCE_SAMPLES == 2**28


def _flac_claiming(path, total_samples):
    """A real FLAC whose STREAMINFO claims ``total_samples`` (0: "unknown")."""
    sf.write(path, noise(RATE), RATE, subtype="PCM_16", format="FLAC")
    data = bytearray(path.read_bytes())
    packed = int.from_bytes(data[18:26], "big")
    packed = (packed & ~((1 << 36) - 1)) | total_samples
    data[18:26] = packed.to_bytes(8, "big")
    path.write_bytes(bytes(data))
    return path


def test_crash_or_hang_a_flac_header_claiming_2_to_the_36_samples(tmp_path):
    """soundfile allocated what the header said: a raw 256 GiB _ArrayMemoryError."""
    path = _flac_claiming(tmp_path / "liar.flac", (1 << 36) - 1)
    with pytest.raises(AudioFileError, match=r"liar\.flac' holds 68,719,476,735 samples .* "
                                             r"more than the 268,435,456 .* sklearn_ser\.timeline"):
        load_audio(path)
    assert peak_bytes(lambda: load_audio(path)) < 1 << 20


def test_confusing_a_flac_that_does_not_state_its_length_is_named(tmp_path):
    """soundfile tried to allocate 2**63 frames: "array is too big", with no way out."""
    path = _flac_claiming(tmp_path / "streamed.flac", 0)
    with pytest.raises(AudioFileError, match=r"streamed\.flac': .*does not state its length.*"
                                             r"re-encode it"):
        load_audio(path)
    assert peak_bytes(lambda: load_audio(path)) < 16 << 20  # one block of 2**20 samples


def test_crash_or_hang_a_long_file_decodes_in_one_copy(tmp_path):
    """The fast path used to hold the file's bytes twice and a mask of the samples."""
    path = tmp_path / "long.wav"
    sf.write(path, noise(60 * RATE), RATE, subtype="PCM_16")  # one minute
    decoded = 60 * RATE * 4  # float32
    # the samples once, and two blocks of 1 MiB of the file's bytes
    assert peak_bytes(lambda: load_audio(path, dtype=np.float32)) < decoded + (3 << 20)


# -- silent misreading ----------------------------------------------------------------------

def test_silent_a_list_of_pcm_ints_is_scaled_by_its_range():
    """A list of int16 values became int64 and was divided by 2**63: silence."""
    pcm = np.array([0, 1000, -32768, 32767, -5], dtype=np.int16)
    expected = pcm / 32768.0
    np.testing.assert_array_equal(load_audio(pcm.tolist()), expected)
    np.testing.assert_array_equal(load_audio(pcm.astype(np.int64)), expected)
    np.testing.assert_array_equal(load_audio((pcm.tolist(), RATE)), expected)
    wider = [0, 40000, -8388608]  # beyond 16 bits: 24-bit PCM
    np.testing.assert_array_equal(load_audio(wider), np.array(wider) / 2**23)
    np.testing.assert_array_equal(load_audio([2**31 - 1]), [(2**31 - 1) / 2**31])
    with pytest.raises(InvalidSignalError, match=r"utt: integer samples from 0 to 4294967296 "
                                                 r"do not fit 32-bit PCM.*np\.int16"):
        load_audio([0, 2**32], name="utt")
    # a typed array keeps libsndfile's convention (its width is known)
    np.testing.assert_array_equal(load_audio(np.array([16384], np.int32)), [16384 / 2**31])


def test_silent_int_pcm_rows_give_the_int16_features():
    rng = np.random.default_rng(1)
    pcm = (rng.standard_normal((2, RATE)) * 3000).astype(np.int16)
    front_end = LogMel3DTransformer().fit(list(pcm))
    np.testing.assert_array_equal(front_end.transform(pcm.astype(np.int64)).chunks,
                                  front_end.transform(list(pcm)).chunks)
    np.testing.assert_array_equal(front_end.transform([row.tolist() for row in pcm]).chunks,
                                  front_end.transform(pcm / 32768.0).chunks)


def test_silent_floats_far_outside_the_unit_range_are_warned_about_once():
    rng = np.random.default_rng(2)
    pcm_as_float = (rng.standard_normal(RATE) * 3000).round()  # int16 values cast to float
    fine = rng.standard_normal(RATE) * 0.1
    with pytest.warns(SignalRangeWarning) as record:
        LogMel3DTransformer(n_jobs=2).fit([fine, pcm_as_float, fine, 2 * pcm_as_float] * 20)
    assert len(record) == 1  # one warning for the call, whatever the groups and workers
    message = str(record[0].message)
    assert message.startswith("40 of 80 utterance(s) hold samples far outside [-1, 1]")
    assert "signal #1, signal #3, signal #5, signal #7, signal #9 and 35 more" in message
    assert "divided by 32768" in message and record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LogMel3DTransformer().fit([fine, np.clip(fine * 20, -1.5, 1.5)])  # overs are audio


# -- errors that name the culprit -----------------------------------------------------------

NON_UTF8 = b"sprecher-\xff\xfe-w\xfctend"  # Latin-1 bytes, not UTF-8


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="names are bytes on Linux only")
@pytest.mark.parametrize(("suffix", "format_", "subtype"),
                         [(".flac", "FLAC", "PCM_16"), (".ogg", "OGG", "VORBIS"),
                          (".wav", "WAV", "PCM_16"), (".wav", "WAV", "PCM_24")])
def test_confusing_file_names_in_any_encoding(suffix, format_, subtype, tmp_path):
    """FLAC and OGG names that are not UTF-8 failed with a codec error (WAV worked)."""
    raw = os.fsencode(tmp_path) + b"/" + NON_UTF8 + suffix.encode()
    try:
        with open(raw, "wb") as file:
            sf.write(file, noise(RATE), RATE, format=format_, subtype=subtype)
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    path = os.fsdecode(raw)
    signal = load_audio(path)
    assert signal.shape == (RATE,)
    np.testing.assert_array_equal(load_audio(raw), signal)  # a bytes path works as well
    assert LogMel3DTransformer().fit_transform([path]).n_chunks.tolist() == [1]
    broken = raw[: -len(suffix)] + b"-broken" + suffix.encode()
    with open(broken, "wb") as file:
        file.write(b"not audio" * 20)
    with pytest.raises(AudioFileError) as info:
        load_audio(os.fsdecode(broken))
    message = str(info.value)
    assert r"sprecher-\xff\xfe-w\xfctend-broken" in message
    message.encode("utf-8")  # printable: no lone surrogates
