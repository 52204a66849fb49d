# Where the corpus lives. The embedded corpus is generated here by local/data.sh.
MINI_SYNTH=${MINI_SYNTH:-corpus}
