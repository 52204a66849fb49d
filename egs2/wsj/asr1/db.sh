# Where the corpora live: the directories that hold the LDC discs as copied from the CDs,
# i.e. WSJ0 (LDC93S6B) holds 11-1.1 ... 11-15.1 and WSJ1 (LDC94S13B) holds 13-1.1 ... 13-34.1.
# Environment variables of the same name override these (WSJ0=/data/wsj0 ./run.sh).
WSJ0=${WSJ0:-}
WSJ1=${WSJ1:-}
