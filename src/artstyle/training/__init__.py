"""Training code shared by the stages."""
