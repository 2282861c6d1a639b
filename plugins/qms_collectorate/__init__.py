"""District collectorate office type for qms-engine: desks, files, citizen-charter services and
the record room.

Packaged and registered as a third-party plugin would be (entry point ``collectorate`` in the
``qms_engine.plugins`` group), using only :mod:`qms_engine.api`:

- :mod:`qms_collectorate.office` declares the office type: its desks (पटल) and the registers
  each keeps, the file register (नस्ती, moving between desks under custody) and the dak
  register, the services of the citizen charter with their time limits, the record classes
  of the record room with their retention, and the SOPs a collectorate must have;
- :mod:`qms_collectorate.hooks` registers it.
"""
