"""Citizen feedback: the QR code on the station wall, importing the form's export, the SP
office's monthly summary and erasing old comments (``qms feedback qr|import|summary|erase``).

- :mod:`.settings`: the ``[feedback]`` table of ``qms.toml`` (the form's URL, the order of day
  and month, station aliases, extra header variants).
- :mod:`.forms`: reading a form's CSV export with the office type's
  :class:`~qms_engine.registry.feedback_forms.FeedbackForm`: encodings, delimiters, headers,
  times, bad rows by spreadsheet row.
- :mod:`.privacy`: what is kept of a response (no names, no phone numbers, no control
  characters), and how a message may quote a citizen's cell.
- :mod:`.identity`: a response's id, from what is kept of it (never a raw cell or comment).
- :mod:`.responses`: the import, idempotent, signed per station (each comment only as its
  salted SHA-256), and :mod:`.poor_ratings`: which poor responses open (or join) a
  nonconformity.
- :mod:`.retention`: ``qms feedback erase``, blanking comments older than the form's
  ``keep_days`` with a signed ``feedback.comments.erased``.
- :mod:`.summary` and :mod:`.chart`: per-station counts and averages, and a PNG whose Hindi
  labels are shaped by HarfBuzz (Pillow's RAQM layout) in the vendored Noto Sans Devanagari.
- :mod:`.qr`: the QR code of a station's form, PNG or SVG (segno).

May import: :mod:`qms_engine.capa` (nonconformities), documents, audit and everything below
them; never ingest, backup, tasks or the CLI.
"""
