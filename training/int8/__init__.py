"""Int8 exports of the classifiers and the sentence encoder (``workers/ml/int8_runtime.py`` serves them)."""
