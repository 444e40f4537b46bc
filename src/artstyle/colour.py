"""Colour constants shared by the synthetic data, the evaluation and ``stylize`` (no torch, no numpy)."""

LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma weights of R, G, B: the Y row of YCbCr
