"""Citizen feedback: the QR code on the station wall, importing the form's export, and the SP
office's monthly summary (``qms feedback qr|import|summary``).

- :mod:`.settings`: the ``[feedback]`` table of ``qms.toml`` (the form's URL, station aliases,
  extra header variants).
- :mod:`.forms`: reading a form's CSV export with the office type's
  :class:`~qms_engine.registry.feedback_forms.FeedbackForm`: encodings, headers, bad rows by
  line.
- :mod:`.privacy`: what is kept of a response (no names, no phone numbers).
- :mod:`.responses`: the import, idempotent, one signed event per station, and
  :mod:`.poor_ratings`: which poor responses open (or join) a nonconformity.
- :mod:`.summary` and :mod:`.chart`: per-station counts and averages, and a PNG whose Hindi
  labels are shaped by HarfBuzz (Pillow's RAQM layout) in the vendored Noto Sans Devanagari.
- :mod:`.qr`: the QR code of a station's form, PNG or SVG (segno).

May import: :mod:`qms_engine.capa` (nonconformities), documents, audit and everything below
them; never ingest, backup, tasks or the CLI.
"""
