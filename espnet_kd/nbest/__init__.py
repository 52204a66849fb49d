"""espnet_kd.nbest: teacher n-best lists.

- :mod:`~espnet_kd.nbest.format`: :class:`NBestEntry`, ``nbest.jsonl`` read/write,
  ESPnet-style ``{n}best_recog/`` writer
- :mod:`~espnet_kd.nbest.espnet_output`: read the output dirs of ESPnet's stock
  ``asr_inference --nbest K`` (``tensor(...)`` scores, split decodes, short n-best lists)
- :mod:`~espnet_kd.nbest.engine`: decode a data set with the batched beam search
  (:mod:`~espnet_kd.nbest.beam_search`) of a model :func:`espnet_kd.teacher.load_teacher` loads
- :mod:`~espnet_kd.nbest.outputs`: what the engine writes: ``partial.jsonl`` (resume),
  ``nbest.jsonl``, ``{n}best_recog/``, ``summary.json``; merging split jobs
"""

from espnet_kd.nbest.format import (
    NBestEntry,
    NBestFormatError,
    read_nbest_jsonl,
    write_espnet_nbest_dirs,
    write_nbest_jsonl,
)

__all__ = [
    "NBestEntry",
    "NBestFormatError",
    "read_nbest_jsonl",
    "write_espnet_nbest_dirs",
    "write_nbest_jsonl",
]
