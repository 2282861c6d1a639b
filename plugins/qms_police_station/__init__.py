"""Police station (thana) office type for qms-engine.

A worked example of an office-type plugin, packaged and registered exactly as a third-party
plugin would be (entry point ``police_station`` in the ``qms_engine.plugins`` group):

- :mod:`qms_police_station.office` declares the office type: its SOPs and registers, their
  numbering, allowed file types, review periods and retention, and the rules of their books
  (the General Diary's day, corrections, the malkhana's required fields), which the engine
  enforces and ``qms audit verify`` checks.
- :mod:`qms_police_station.settings` reads the settings that differ between states (the
  General Diary numbered per day or per year).
- :mod:`qms_police_station.hooks` connects both to the engine's hooks.
"""
