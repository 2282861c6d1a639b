"""The test suite, a package so that each helper module has one import name (``tests.corpora``).

pytest (its default "prepend" import mode) puts the repository root, the first folder above
without an ``__init__.py``, on ``sys.path`` and imports ``tests.conftest``, ``tests.test_x``;
mypy maps ``tests/x.py`` to ``tests.x``.  Both see every helper under the same single name.
"""
