"""Run from egs2/mini_synth/st1 with the repository's python (README: ST with translation alternatives).
Where a reference took one of two synonyms (macchina/auto, macchine/auto, stanza/camera), the MT teacher's
teacher-forced probability of the first piece of the reference's word and of its synonym, from its top-k
cache (a synonym outside the top-k counts 0): on the training set (references it was trained on) and on dev.
Arguments (optional): the training set's cache dir (e.g. exp/mt_teacher/topk_train_folds4, from held-out teachers).
"""
import sys

import numpy as np
import sentencepiece as spm
from espnet_kd.kd.topk_cache import TopKCache

sp = spm.SentencePieceProcessor(model_file="data/tokens/tgt/bpe.model")
tokens = [line.split()[0] if line.strip() else "" for line in open("data/tokens/tgt/tokens.txt", encoding="utf-8")]
index = {tok: i for i, tok in enumerate(tokens)}
synonyms = {"macchina": "auto", "macchine": "auto", "stanza": "camera"}
synonyms.update({b: a for a, b in list(synonyms.items()) if b != "auto"})
first_piece = lambda word: sp.encode(word, out_type=str)[0]
cache_dirs = {"train": sys.argv[1] if len(sys.argv) > 1 else "exp/mt_teacher/topk_train", "dev": "exp/mt_teacher/topk_dev"}
for set_name, cache_dir in cache_dirs.items():
    cache = TopKCache(cache_dir)
    texts = dict(line.rstrip("\n").split(" ", 1) for line in open(f"dump/raw/{set_name}/text", encoding="utf-8"))
    own, other = [], []
    for utt, text in texts.items():
        pieces = sp.encode(text, out_type=str)
        ids, logp = cache[utt]
        words = text.split()
        starts = [pos for pos, piece in enumerate(pieces) if piece.startswith("▁")]
        for word, pos in zip(words, starts):
            alt = synonyms.get(word) or ("macchina" if word == "auto" else None)
            if alt is None or pos >= len(ids):
                continue
            p = dict(zip(ids[pos].tolist(), np.exp(logp[pos].astype(float)).tolist()))
            mine, theirs = index[first_piece(word)], index[first_piece(alt)]
            if mine == theirs:
                continue
            own.append(p.get(mine, 0.0)); other.append(p.get(theirs, 0.0))
    print(f"{set_name} ({cache_dir}): {len(own)} synonym positions: p(the reference's word) {np.mean(own):.3f}, "
          f"p(its synonym) {np.mean(other):.3f}; synonym above 0.2 at {np.mean(np.array(other) > 0.2):.1%}")
