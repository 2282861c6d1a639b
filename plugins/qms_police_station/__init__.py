"""Police station (thana) office type for qms-engine.

A worked example of an office-type plugin, packaged and registered exactly as a third-party
plugin would be (entry point ``police_station`` in the ``qms_engine.plugins`` group):

- :mod:`qms_police_station.office` declares the office type: its SOPs and registers, their
  numbering, allowed file types, review periods and retention.
- :mod:`qms_police_station.rules` holds the station's rules for what may be filed.
- :mod:`qms_police_station.hooks` connects both to the engine's hooks.
"""
