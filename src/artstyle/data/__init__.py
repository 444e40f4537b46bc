"""Data: decode-once image store, manifests, resampling and the Dataset every stage trains on."""
