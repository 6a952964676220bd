# node/: filled in by its layer.
