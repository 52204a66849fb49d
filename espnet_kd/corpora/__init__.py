"""espnet_kd.corpora: the corpora the recipes read.

- the embedded synthetic corpus ``mini_synth`` (below), generated locally;
- WSJ (:mod:`~espnet_kd.corpora.wsj`: LDC93S6B/LDC94S13B disc layouts to Kaldi data dirs,
  transcript normalisation; CLI ``python -m espnet_kd.bin.prepare_wsj``);
- MuST-C (:mod:`~espnet_kd.corpora.must_c`: the released ``en-<lang>`` layout to Kaldi data
  dirs with talk segments; CLI ``python -m espnet_kd.bin.prepare_must_c``).

``mini_synth``: English sentences from a small grammar, rule-based Italian and German
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
