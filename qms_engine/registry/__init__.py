"""What plugins contribute and what they are handed: office, document and register types
(:mod:`.office_types`), citizen feedback forms (:mod:`.feedback_forms`), the values passed
to hooks (:mod:`.hook_values`), the loaded set of plugins with the one way of calling their
hooks (:mod:`.plugin_set`), and which plugin is running or raised (:mod:`.attribution`).

May import: :mod:`qms_engine.chain`, :mod:`qms_engine.rules`, :mod:`qms_engine.storage`,
:mod:`qms_engine.clock`, :mod:`qms_engine.files`, :mod:`qms_engine.errors` (the layers below it
in ``pyproject.toml``'s contracts).  Plugin authors import these names from
:mod:`qms_engine.api`, never from here.
"""
