"""Language-model backends, model files and the one-at-a-time generation gate."""
