"""Benchmarks: ``python -m artstyle.bench <what>``; each subcommand merges its results into one JSON.

- ``data``: images/s of the store loader (:class:`artstyle.data.dataset.StoreDataset` +
  :func:`~artstyle.data.dataset.make_loader`, one memmap copy per batch) against the usual
  torchvision ImageFolder loader (open + decode + resize + crop + to-tensor per item, default
  collate), over the same files, image size, batch size and number of images, both in the main
  process (:mod:`artstyle.bench.data`). Target: ratio >= 20x.
- ``train``: the classifier's end-to-end training images/s against the same training step on an
  in-memory random batch; both time the trainer of :func:`artstyle.training.classifier.setup`,
  the one ``fit`` trains with (:mod:`artstyle.bench.train`). Target: efficiency >= 0.9.
- ``stylize``: latency of the trained transfer network at 256x256, batch 1
  (:mod:`artstyle.bench.stylize`).
- ``scaling``: index and epoch time from 1x to 4x the default dataset (:mod:`artstyle.bench.scaling`).
- ``index``: the index stage's decode of real-size JPEGs (1-2 megapixels, to 224 px) with JPEG
  ``draft()`` against a full-size decode: images/s, speedup and how close the outputs are
  (:mod:`artstyle.bench.index`). Target: speedup >= 2x.
- ``backbones``: StyleNet from scratch against the ImageNet VGG19 as a linear probe and
  fine-tuned, each trained for the same wall time (``--seconds``, default about the default run's training time)
  and scored on the test split: balanced accuracy, macro-F1, minority recall, images/s
  (:mod:`artstyle.bench.backbones`). Not part of ``all`` (minutes of training per configuration).
- ``all``: the five in one run, written together (:mod:`artstyle.bench.cli`).

``train --sizes 64,128,224`` adds the same two figures at each image size, on temporary stores
built from a subset of the embedded paintings.

Every section records how it was measured (device, torch, threads, autocast, channels_last,
compile, pinned memory: :func:`artstyle.bench.common.describe_runtime`). On CUDA the models run
as the pipeline runs them: bf16 autocast, channels_last, pinned memory with non-blocking copies,
and ``--compile`` for torch.compile.
"""
