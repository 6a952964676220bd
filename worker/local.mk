# worker/: filled in by its layer.
