"""ESPnet2 Task subclasses that register the word-KD models and their data streams."""
