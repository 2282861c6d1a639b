"""Police outpost (chowki) office type for qms-engine: the example of docs/plugins.md.

An outpost (पुलिस चौकी) is a small post under a police station: it registers no FIR of its
own, but keeps its SOPs, a dak register and a register of the complaints it receives.  The
package is laid out the way the guide recommends, and imports nothing from qms-engine but
:mod:`qms_engine.api`:

- :mod:`qms_police_outpost.office` declares the office type: its SOPs and registers, their
  numbering, allowed file types, review and retention periods, inbox folders.
- :mod:`qms_police_outpost.rules` holds the outpost's filing rule for complaints.
- :mod:`qms_police_outpost.hooks` connects both, and the ``workflows/`` folder, to the engine
  (the entry point ``police_outpost`` in the ``qms_engine.plugins`` group names it).
"""
