"""The host side of the plugin system: every hook a plugin can implement (:mod:`.hookspecs`)
and finding, registering and loading plugins from entry points (:mod:`.manager`).

It sits near the top because hooks are handed values from every layer below (a submission, an
ingest step's context); the layers below call hooks through the already-loaded
:class:`~qms_engine.registry.plugin_set.PluginSet` they are given.  May import every engine
layer except :mod:`qms_engine.cli`, :mod:`qms_engine.demo` and :mod:`qms_engine.testing`.
"""
