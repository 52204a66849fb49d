"""Run from egs2/mini_synth/st1 with the repository's python (README: ST with translation alternatives).
Words of each decoding that are a training-vocabulary word with a doubled letter written once (e.g. "gato"
for "gatto"), per 1000 hypothesis words: python doubled.py MODEL_DIR... (decode_test/text)."""
import re, sys
vocab = {w for line in open("dump/raw/train/text", encoding="utf-8") for w in line.split()[1:]}
single = lambda s: re.sub(r"(.)\1", r"\1", s)
doubled_by_single = {single(w): w for w in vocab if single(w) != w}
for model in sys.argv[1:]:
    words = [w for line in open(f"{model}/decode_test/text", encoding="utf-8") for w in line.split()[1:]]
    bad = sum(1 for w in words if w not in vocab and w in doubled_by_single)
    print(f"{model}: {bad} of {len(words)} words ({1000 * bad / max(len(words), 1):.1f} per 1000) are a doubled-letter word written once")
