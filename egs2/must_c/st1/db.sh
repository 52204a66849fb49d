# Where the corpus lives: the MuST-C release root, holding en-<lang>/data/{train,dev,tst-COMMON,tst-HE}.
# Nothing is downloaded; get MuST-C v1.0 from https://ict.fbk.eu/must-c/ (after accepting its licence).
MUST_C=${MUST_C:-/path/to/MUSTC_v1.0}
