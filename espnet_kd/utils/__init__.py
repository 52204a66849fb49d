"""Small helpers shared across espnet_kd: atomic file output and Kaldi data dirs."""
