# wallet/: filled in by its layer.
