"""Every loss in one place: imbalance (class weights, logit adjustment), perceptual (Gram, content,
style, total variation) and reconstruction (MSE with L1 or SSIM)."""
