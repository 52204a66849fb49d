"""espnet_kd.corpora: the embedded synthetic corpus ``mini_synth``.

English sentences from a small grammar, rule-based Italian and German
translations, and speech from espeak-ng, generated locally (no download):

- :mod:`~espnet_kd.corpora.lexicon`, :mod:`~espnet_kd.corpora.numbers`: words and number words
- :mod:`~espnet_kd.corpora.sentences`: the structured sentence patterns
- :mod:`~espnet_kd.corpora.grammar`: random sentences, rendered in three languages by
  :mod:`~espnet_kd.corpora.english`, :mod:`~espnet_kd.corpora.italian`, :mod:`~espnet_kd.corpora.german`
- :mod:`~espnet_kd.corpora.espeak`, :mod:`~espnet_kd.corpora.synth`, :mod:`~espnet_kd.corpora.voices`: speech
- :mod:`~espnet_kd.corpora.mini_synth`: :func:`generate_mini_synth`, the corpus writer
  (CLI: ``python -m espnet_kd.bin.make_mini_synth``)

Submodules are imported on demand, so importing this package stays cheap.
"""
