# consensus/: filled in by its layer.
