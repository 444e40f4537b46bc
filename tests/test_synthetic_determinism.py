"""The embedded dataset is the same bytes on every machine (issue 11).

A small fixed subset of the synthetic WikiArt (every style, both splits, 32 px) is rendered through
``generate_dataset``, the function the ``synthesize`` stage calls, and the SHA-256 of its decoded
pixels and of its PNG files is compared with the committed values below. Each variant runs in a
fresh interpreter (this file run as a script) with one or two worker processes and OpenMP/BLAS
threads, with numpy's optional CPU features (its SIMD dispatch targets beyond the baseline) turned
off, and with OpenBLAS forced to older CPUs' kernels.

The committed ``data/synthetic`` once differed on a second machine because ``palettes.adjust``
used ``@``: numpy hands that to OpenBLAS, whose kernel, picked by the CPU at run time, rounds
float32 products differently on AVX2 and AVX-512 machines. A 32 px subset rarely turns such
last-bit differences into a different pixel, so ``test_platform_maths_probe`` also hashes the float
outputs of the primitives that do maths (palettes, polygons, paths, angles, weave, gradients),
rounded to float32, under the same variants: a CPU-dependent float32 result shows up there first.

When the generator changes on purpose, update the constants with
``python tests/test_synthetic_determinism.py --print-constants`` (and regenerate the dataset).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SEED = 42
SUBSET = {"train_images": 27, "test_images": 27, "min_train": 2, "min_test": 1, "image_size": 32}

# The committed bytes: SHA-256 over every style's digest, and the first 16 hex digits of each style's
# own digest (over its files in both splits) to name the styles that differ when the test fails.
PIXELS_SHA256 = "e014ba70ef56766f02d50d666cf2b0c8a292270b7415610e63f22f48425f197c"
FILES_SHA256 = "2f09e4e9e9ef38edb0b7898d7c24a5873039c0fc84c36365b0f40f7734175c0e"
STYLE_DIGESTS: dict[str, tuple[str, str]] = {  # style -> (pixels, files)
    "Abstract_Expressionism": ("b98afdd7de6e5a83", "cd4acce2ec5e40b3"),
    "Action_painting": ("ec2b9b99353716b5", "27c60eebff26c537"),
    "Analytical_Cubism": ("c2a45d3d35baa8db", "6617f7a34dff766b"),
    "Art_Nouveau": ("27762c7553440885", "3b9c24088b601b41"),
    "Baroque": ("001c987cdbf8c905", "81648f60e8b55e64"),
    "Color_Field_Painting": ("b754ed049d0161b2", "4bcd48a88839f8e1"),
    "Contemporary_Realism": ("3226efe23eceab0b", "246bd3964475da96"),
    "Cubism": ("44577e81f3466cd5", "6ce1ae804c04683e"),
    "Early_Renaissance": ("12c89deca4e70725", "ead2452c39a12b69"),
    "Expressionism": ("370bab6451e7dba4", "84fc0ce3b8297ebb"),
    "Fauvism": ("fdbfa9deb858ed3c", "f4e83ddd4290e971"),
    "High_Renaissance": ("46be24fa8bac0b70", "05dce68da6865181"),
    "Impressionism": ("1ea58e14cf79e542", "b80eaa47ee6275c1"),
    "Mannerism_Late_Renaissance": ("6b43e6d4222a98e7", "96cbf30951dc6585"),
    "Minimalism": ("d5c1a6cd391cb302", "d325437499d4da70"),
    "Naive_Art_Primitivism": ("b8f00e0d66a16a10", "2f15cfb02f59790f"),
    "New_Realism": ("eee3f5f6d09f6a8a", "2a7fe440be72e3a6"),
    "Northern_Renaissance": ("6815ddb839edba48", "76ae902e4576832a"),
    "Pointillism": ("c01e101ca5940bed", "0abd92c1b46ea6e7"),
    "Pop_Art": ("6fde06dac158044d", "88eb6b7452dd2c15"),
    "Post_Impressionism": ("f8a1a4281eaa2b2f", "5d35a171f0fc03dd"),
    "Realism": ("9fd5942db0c3d53d", "9c47b681ac6341c6"),
    "Rococo": ("d8e4b9a4f4a7681e", "9e30deed16c973e8"),
    "Romanticism": ("a1d79b457f4f559e", "3483ae986d2abe07"),
    "Symbolism": ("8de273296784f2e8", "f6b91d961c9b9ec8"),
    "Synthetic_Cubism": ("1db151cd736acc63", "4768c73fa8b8627f"),
    "Ukiyo_e": ("d29329fd54de4f2f", "4d0658a66423be8d"),
}

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
PLATFORM_VARS = ("NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES", "OPENBLAS_CORETYPE")


# --- what a child interpreter computes -----------------------------------------------------------


def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "little"))
        h.update(p)
    return h.hexdigest()


def tree_digests(root: Path) -> dict[str, dict[str, str]]:
    """Per style: SHA-256 of its decoded pixels and of its PNG bytes, over both splits in name order."""
    from PIL import Image

    from artstyle.styles import STYLES

    out = {}
    for style in STYLES:
        files = sorted(root.glob(f"*/{style}/*.png"), key=lambda p: p.relative_to(root).as_posix())
        pixels, raw = [], []
        for f in files:
            name = f.relative_to(root).as_posix().encode()
            with Image.open(f) as im:
                arr = np.asarray(im.convert("RGB"))
            pixels += [name, repr(arr.shape).encode(), arr.tobytes()]
            raw += [name, f.read_bytes()]
        out[style] = {"pixels": _sha(*pixels), "files": _sha(*raw), "count": len(files)}
    return out


def combined(digests: dict[str, dict[str, str]], kind: str) -> str:
    return _sha(*(f"{style}:{d[kind]}".encode() for style, d in digests.items()))


def maths_probe() -> str:
    """SHA-256 of the float outputs of the generator's maths-heavy primitives, rounded to float32.

    float64 results that differ in the last bit (libm versions) almost never survive the rounding;
    float32 results that differ by CPU (BLAS kernels, float32 SIMD ufuncs) always do.
    """
    from artstyle.synthetic import curves, fields, palettes, shapes, strokes, texture

    parts = []

    def add(x) -> None:
        a = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
        parts.extend([repr(a.shape).encode(), a.tobytes()])

    for k in range(6):
        rng = np.random.default_rng([SEED, k])
        for name in sorted(palettes.PALETTES):
            add(palettes.jitter_palette(rng, name))
        add(palettes.adjust(palettes.PALETTES["bold"], rng.uniform(-0.5, 0.5), rng.uniform(0.5, 1.5), 1.1))
        add(shapes.star_polygon(rng, rng.uniform(0, 1, 2), 0.2, 5, 0.4, aspect=1.3))
        add(shapes.blob(rng, rng.uniform(0, 1, 2), 0.2, 24, 0.3, 1.4, rotation=rng.uniform(0, 3)))
        add(strokes.walk(rng, rng.uniform(0, 1, 2), 14, 0.05, 0.3))
        xy, centers = strokes.positions(rng, 64), strokes.positions(rng, 3)
        add(strokes.swirl_angles(xy, centers, np.array([1.0, -1.0, 1.0])))
        add(curves.whiplash(rng, rng.uniform(0, 1, 2), rng.uniform(0, 1, 2), 0.1, 1.2))
        add(curves.spiral(rng.uniform(0, 1, 2), 0.005, 0.08, 1.4, rng.uniform(0, 6.3), 30))
        add(curves.wave(0.0, 1.0, 0.5, 0.02, 0.15, rng.uniform(0, 6.3)))
        add(texture.weave(64, rng.uniform(2.5, 4.0) / 64, 4.0, rng.uniform(0, 1.5)))
        add(fields.radial(64, rng.uniform(0, 1, 2), 0.4, 1.5))
        add(fields.linear(64, (20, 40, 60), (220, 180, 90), rng.uniform(0, 6.3)))
    return _sha(*parts)


def optional_cpu_features() -> list[str]:
    """numpy's SIMD dispatch targets beyond its baseline that this CPU has (what numpy may switch to)."""
    try:
        from numpy._core import _multiarray_umath as mu
    except ImportError:  # numpy < 2
        from numpy.core import _multiarray_umath as mu
    return [f for f in mu.__cpu_dispatch__ if mu.__cpu_features__.get(f)]


def child(workers: int) -> dict:
    import tempfile

    import PIL
    from PIL import features

    from artstyle.params import SynthesizeParams
    from artstyle.synthetic.generate import generate_dataset

    params = SynthesizeParams(**SUBSET, workers=workers, seed=SEED)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "synthetic"
        generate_dataset(out, params, seed=SEED, samples_per_style=0, progress=False)
        digests = tree_digests(out)
    disabled = os.environ.get("NPY_DISABLE_CPU_FEATURES", "").split()
    return {
        "styles": digests,
        "pixels": combined(digests, "pixels"),
        "files": combined(digests, "files"),
        "maths": maths_probe(),
        "still_enabled": sorted(set(disabled) & set(optional_cpu_features())),
        "versions": {"numpy": np.__version__, "pillow": PIL.__version__, "zlib": features.version("zlib")},
    }


# --- the variants, each in a fresh interpreter ---------------------------------------------------


def variants() -> dict[str, tuple[int, dict[str, str]]]:
    """name -> (synthesize workers, environment overrides)."""
    one, two = dict.fromkeys(THREAD_VARS, "1"), dict.fromkeys(THREAD_VARS, "2")
    out = {
        "1 worker, 1 thread": (1, one),
        "2 workers, 2 threads": (2, two),
    }
    optional = optional_cpu_features()
    if optional:
        out["numpy baseline SIMD only"] = (2, {**one, "NPY_DISABLE_CPU_FEATURES": " ".join(optional)})
    if platform.machine().lower() in ("x86_64", "amd64"):
        try:
            from numpy._core._multiarray_umath import __cpu_features__ as cpu
        except ImportError:  # numpy < 2
            from numpy.core._multiarray_umath import __cpu_features__ as cpu
        # Only kernels this CPU can run; the names are OpenBLAS's (ignored by other BLAS libraries).
        if cpu.get("AVX2") and cpu.get("FMA3"):
            out["OpenBLAS Haswell kernels"] = (1, {**two, "OPENBLAS_CORETYPE": "Haswell"})
        if cpu.get("AVX"):
            out["OpenBLAS Sandybridge kernels"] = (1, {**two, "OPENBLAS_CORETYPE": "Sandybridge"})
    return out


VARIANTS = variants()


def run_variant(workers: int, overrides: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARS}
    env.update(overrides)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), *filter(None, [env.get("PYTHONPATH")])])
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(workers)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    return {name: run_variant(workers, env) for name, (workers, env) in VARIANTS.items()}


def explain(result: dict) -> str:
    """Which styles' pixels or files differ from the committed digests, and with what software."""
    bad_pixels = [
        s for s, d in result["styles"].items() if d["pixels"][:16] != STYLE_DIGESTS.get(s, ("", ""))[0]
    ]
    bad_files = [
        s for s, d in result["styles"].items() if d["files"][:16] != STYLE_DIGESTS.get(s, ("", ""))[1]
    ]
    only_encoding = [s for s in bad_files if s not in bad_pixels]
    return (
        f"\n  pixels differ for {len(bad_pixels)} of {len(result['styles'])} styles: {bad_pixels}"
        f"\n  PNG bytes differ with the same pixels (encoder) for: {only_encoding}"
        f"\n  pixels {result['pixels']}\n  files  {result['files']}"
        f"\n  software: {result['versions']} (requirements.lock pins numpy and pillow)"
        "\n  if the generator changed on purpose: python tests/test_synthetic_determinism.py --print-constants"
    )


# --- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_rendered_subset_matches_the_committed_hash(results, variant):
    r = results[variant]
    assert r["still_enabled"] == [], f"NPY_DISABLE_CPU_FEATURES did not take: {r['still_enabled']} still on"
    assert sum(d["count"] for d in r["styles"].values()) > 2 * len(r["styles"])
    if (r["pixels"], r["files"]) != (PIXELS_SHA256, FILES_SHA256):
        pytest.fail(f"{variant}: the rendered subset is not the committed one:{explain(r)}", pytrace=False)


def test_platform_maths_probe_is_the_same_under_every_variant(results):
    probes = {name: r["maths"] for name, r in results.items()}
    if len(set(probes.values())) != 1:
        pytest.fail(
            "float32-level results of the generator's maths depend on threads, numpy's SIMD dispatch or "
            "the BLAS kernel (use float64 and elementwise products, not @ or float32 transcendental "
            "ufuncs):\n" + "\n".join(f"  {v[:16]}  {k}" for k, v in probes.items()),
            pytrace=False,
        )


def test_the_committed_digests_are_complete():
    from artstyle.styles import STYLES

    assert list(STYLE_DIGESTS) == list(STYLES)
    assert all(len(p) == len(f) == 16 for p, f in STYLE_DIGESTS.values())
    assert len(PIXELS_SHA256) == len(FILES_SHA256) == 64


def test_one_changed_pixel_changes_the_hash_and_is_named(tmp_path, monkeypatch):
    """The check can fail: flip the lowest bit of one pixel of one style and the digests move."""
    from artstyle.params import SynthesizeParams
    from artstyle.synthetic import generate

    original = generate.RECIPES["Ukiyo_e"]

    def nudged(rng, size):
        img = original(rng, size)
        img[0, 0, 0] ^= 1
        return img

    monkeypatch.setitem(generate.RECIPES, "Ukiyo_e", nudged)
    generate.generate_dataset(
        tmp_path / "s",
        SynthesizeParams(**SUBSET, workers=1, seed=SEED),
        seed=SEED,
        samples_per_style=0,
        progress=False,
    )
    digests = tree_digests(tmp_path / "s")
    result = {
        "styles": digests,
        "pixels": combined(digests, "pixels"),
        "files": combined(digests, "files"),
        "versions": {},
    }
    assert result["pixels"] != PIXELS_SHA256 and result["files"] != FILES_SHA256
    message = explain(result)
    assert "pixels differ for 1 of 27 styles: ['Ukiyo_e']" in message, message


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(child(int(sys.argv[2]))))
    elif sys.argv[1:2] == ["--print-constants"]:
        r = run_variant(1, dict.fromkeys(THREAD_VARS, "1"))
        print(f'PIXELS_SHA256 = "{r["pixels"]}"\nFILES_SHA256 = "{r["files"]}"')
        print("STYLE_DIGESTS: dict[str, tuple[str, str]] = {  # style -> (pixels, files)")
        for style, d in r["styles"].items():
            print(f'    "{style}": ("{d["pixels"][:16]}", "{d["files"][:16]}"),')
        print("}")
    else:
        sys.exit("usage: test_synthetic_determinism.py --print-constants | --child WORKERS")
