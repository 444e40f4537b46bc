"""The three WikiArt layouts the ``index`` stage reads from ``data.root``, listed but not decoded.

One reader per layout (:mod:`.imagefolder`, :mod:`.artgan`, :mod:`.hf_parquet`), each returning a
:class:`~artstyle.data.layouts.listing.Listing`; :func:`artstyle.data.layouts.detect.list_layout`
picks the reader for a root. Decoding and writing the store happen in :mod:`artstyle.data.index`.
"""
