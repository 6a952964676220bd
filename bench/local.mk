# bench/: filled in by its layer.
