# net/: filled in by its layer.
