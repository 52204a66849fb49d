"""Build the pseudo-labelled Kaldi data dir from a source data dir and selected labels.

Each :class:`~espnet_kd.select.abs_selector.Selected` becomes one utterance:

- its ``text`` is the pseudo-label;
- it reuses the audio of its source utterance: the ``wav.scp`` line is
  duplicated under the new id, or, for a dir with ``segments``, the segment
  line is (``wav.scp`` then keeps the recordings still referenced);
- ``utt2spk``, the other text files (``text.en``, ...) and other ``utt2*``
  tables are carried over from the source utterance;
- ``utt2weight`` holds the selection weights where the method gives them
  (replacing a source ``utt2weight``); otherwise a source one is carried over.

Ids stay sorted in C locale when the files are written. A top-k id ``U-nbR``
starts with ``U`` and so with ``U``'s speaker prefix, so sorting by utterance
still groups speakers, as Kaldi's checks require; :func:`speakers_grouped`
verifies it.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence

from espnet_kd.select.abs_selector import Selected
from espnet_kd.utils.kaldi_dir import DataDirError, KaldiDataDir, c_sorted

WEIGHT_TABLE = "utt2weight"
SHOWN_IDS = 5


def format_weight(weight: float) -> str:
    """A weight as written in ``utt2weight`` (8 significant digits)."""
    return f"{weight:.8g}"


def speakers_grouped(utt2spk: Mapping[str, str]) -> bool:
    """Whether, in C-locale utterance order, speaker ids never decrease (Kaldi's sort check)."""
    speakers = [utt2spk[utt].encode("utf-8") for utt in c_sorted(utt2spk)]
    return all(earlier <= later for earlier, later in zip(speakers, speakers[1:]))


def _carry(table: Mapping[str, str], selections: Sequence[Selected]) -> Dict[str, str]:
    """``table`` re-keyed by the new ids, each taking its source utterance's value."""
    return {pick.utt: table[pick.source_utt] for pick in selections}


def _weights_table(selections: Sequence[Selected]) -> Optional[Dict[str, str]]:
    """``utt2weight`` from the selections, ``None`` if none has a weight."""
    weighted = [pick for pick in selections if pick.weight is not None]
    if not weighted:
        return None
    if len(weighted) != len(selections):
        unweighted = [pick.utt for pick in selections if pick.weight is None]
        raise DataDirError(
            f"some selections have no weight while others do, e.g. {unweighted[:SHOWN_IDS]}"
        )
    return {pick.utt: format_weight(pick.weight) for pick in weighted}  # type: ignore[arg-type]


def check_selections(source: KaldiDataDir, selections: Sequence[Selected]) -> None:
    """Raise if selections are empty, reuse an id, or name an unknown source utterance."""
    if not selections:
        raise DataDirError("no utterance was selected: the pseudo-labelled data dir would be empty")
    seen: set = set()
    duplicates: List[str] = []
    for pick in selections:
        if pick.utt in seen:
            duplicates.append(pick.utt)
        seen.add(pick.utt)
    if duplicates:
        raise DataDirError(f"selections reuse utterance id(s), e.g. {duplicates[:SHOWN_IDS]}")
    unknown = c_sorted({pick.source_utt for pick in selections} - set(source.utt2spk))
    if unknown:
        raise DataDirError(
            f"selections name source utterance(s) not in the data dir, e.g. {unknown[:SHOWN_IDS]}"
        )


def build_pseudo_dir(
    source: KaldiDataDir, selections: Sequence[Selected], text_name: str = "text"
) -> KaldiDataDir:
    """The pseudo-labelled data dir: one utterance per selection, audio reused from its source."""
    check_selections(source, selections)
    texts = {
        name: _carry(table, selections) for name, table in source.texts.items() if name != text_name
    }
    texts[text_name] = {pick.utt: pick.text for pick in selections}
    extra = {name: _carry(table, selections) for name, table in source.extra.items()}
    weights = _weights_table(selections)
    if weights is not None:
        extra[WEIGHT_TABLE] = weights
    if source.segments is not None:
        segments: Optional[Dict[str, str]] = _carry(source.segments, selections)
        recordings = {line.split()[0] for line in segments.values()}
        wav_scp = {
            recording: line for recording, line in source.wav_scp.items() if recording in recordings
        }
    else:
        segments = None
        wav_scp = _carry(source.wav_scp, selections)
    pseudo = KaldiDataDir(
        wav_scp=wav_scp,
        utt2spk=_carry(source.utt2spk, selections),
        texts=dict(sorted(texts.items())),
        segments=segments,
        extra=extra,
    )
    pseudo.validate("pseudo-labelled data dir")
    if speakers_grouped(source.utt2spk) and not speakers_grouped(pseudo.utt2spk):
        raise DataDirError(
            "the new utterance ids break Kaldi's order (utterances sorted by id no longer group "
            "speakers); make utterance ids start with their speaker id"
        )
    return pseudo
