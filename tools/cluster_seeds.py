"""The latent clustering at several seeds: is the committed run's NMI / ARI typical, or a lucky draw?

    python tools/cluster_seeds.py                  # seeds 42 43 44 -> metrics/cluster_seeds.json + a table

For each seed the autoencoder is trained again from scratch (``train_autoencoder``'s library call,
params.yaml with only ``seed`` changed) and its style codes clustered (``cluster_latents``' call),
on the pipeline's store and splits (``dvc repro cluster_latents`` first). The teacher statistics
``data/style_stats.npy`` depend on the store alone, so they are read, not recomputed. The VGG19
reference is scored in every run too; its spread is KMeans' alone. Writes the per-seed metrics and
their mean and standard deviation (ddof 1) to ``metrics/cluster_seeds.json``, which
docs/autoencoder.md cites. Seed 42 is the default run's seed; its row equals metrics/clusters.json
when run with the same thread count as the pipeline (floating-point sums follow the threads).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (42, 43, 44)
KEYS = (
    "nmi",
    "ari",
    "hungarian_accuracy",
    "vgg_nmi",
    "vgg_ari",
    "vgg_hungarian_accuracy",
    "test_psnr",
    "test_sharpness",
)


def run_seed(seed: int, params_path: Path, store: Path, splits: Path, stats_file: Path) -> dict[str, float]:
    from artstyle.checkpoint import save_checkpoint
    from artstyle.params import load_params
    from artstyle.styles import STYLES
    from artstyle.training.autoencoder import train_autoencoder
    from artstyle.training.cluster import cluster_latents

    params = dataclasses.replace(load_params(params_path), seed=seed)
    ae = train_autoencoder(params, store, splits, style_statistics=np.load(stats_file, allow_pickle=False))
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / "autoencoder.pt"
        save_checkpoint(ckpt, ae.model, ae.model.args, STYLES, **ae.checkpoint)
        clusters = cluster_latents(params, store, splits, ckpt, stats_file)
    values = {**clusters.metrics, **{k: ae.metrics[k] for k in ("test_psnr", "test_sharpness")}}
    return {k: float(values[k]) for k in KEYS}


def summarise(per_seed: dict[int, dict[str, float]]) -> dict[str, dict[str, float]]:
    """{key: {mean, std}} over the seeds (std with ddof 1; 0 for one seed)."""
    out = {}
    for key in KEYS:
        v = np.array([m[key] for m in per_seed.values()])
        out[key] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    ap.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    ap.add_argument("--store", type=Path, default=ROOT / "data/store")
    ap.add_argument("--splits", type=Path, default=ROOT / "data/splits")
    ap.add_argument("--style-stats", type=Path, default=ROOT / "data/style_stats.npy")
    ap.add_argument("--out", type=Path, default=ROOT / "metrics/cluster_seeds.json")
    args = ap.parse_args(argv)
    from artstyle.fileio import write_json

    if not args.style_stats.is_file():
        print(f"error: {args.style_stats}: not found; run `dvc repro cluster_latents` first", file=sys.stderr)
        return 2
    per_seed = {
        seed: run_seed(seed, args.params, args.store, args.splits, args.style_stats) for seed in args.seeds
    }
    summary = summarise(per_seed)
    write_json(args.out, {"seeds": {str(s): m for s, m in per_seed.items()}, "summary": summary})
    print("| metric | " + " | ".join(f"seed {s}" for s in per_seed) + " | mean ± sd |")
    print("|---" * (len(per_seed) + 2) + "|")
    for key in KEYS:
        cells = " | ".join(f"{m[key]:.3f}" for m in per_seed.values())
        print(f"| {key} | {cells} | {summary[key]['mean']:.3f} ± {summary[key]['std']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
