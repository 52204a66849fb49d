"""ESPnet2 model subclasses that add a frozen teacher and the word-KD loss."""
