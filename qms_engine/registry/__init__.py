"""What plugins contribute and what they are handed: office, document and register types
(:mod:`.office_types`), the values passed to hooks (:mod:`.hook_values`), and the loaded set of
plugins with the one way of calling their hooks (:mod:`.plugin_set`).

May import: :mod:`qms_engine.rules`, :mod:`qms_engine.files`, :mod:`qms_engine.errors`.  Plugin
authors import these names from :mod:`qms_engine.api`, never from here.
"""
