# vm/: filled in by its layer.
