"""Run from egs2/mini_synth/st1 with the repository's python (README: ST with translation alternatives).
The MT teacher's 1-best on the training set (exp/mt_teacher/nbest_train/nbest.jsonl) against the references
and every correct translation: utterances that differ, and those that differ only by a doubled letter written once."""
import json, re, sys
import jiwer
nbest = sys.argv[1] if len(sys.argv) > 1 else "exp/mt_teacher/nbest_train/nbest.jsonl"
hyp = {}
for line in open(nbest, encoding="utf-8"):
    r = json.loads(line)
    if r["rank"] == 1:
        hyp[r["utt"]] = r["text"]
ref = dict(l.rstrip("\n").split(" ", 1) for l in open("dump/raw/train/text", encoding="utf-8"))
alts = {json.loads(l)["utt_id"]: json.loads(l)["alternatives"] for l in open("corpus/train/alternatives/text.it.jsonl", encoding="utf-8")}
single = lambda s: re.sub(r"(.)\1", r"\1", s)
differ = [u for u in ref if hyp[u] != ref[u]]
doubled = [u for u in differ if len(hyp[u].split()) == len(ref[u].split()) and
           all(h == r or single(h) == single(r) for h, r in zip(hyp[u].split(), ref[u].split()))]
wrong = [u for u in ref if hyp[u] not in alts[u]]
order = sorted(ref)
print(f"{nbest}: WER {100 * jiwer.wer([ref[u] for u in order], [hyp[u] for u in order]):.2f} %; {len(differ)} of {len(ref)} utterances differ from "
      f"the reference, {len(doubled)} only by doubled letters written once; {len(wrong)} are no correct translation")
