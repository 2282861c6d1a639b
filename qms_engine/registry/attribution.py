"""Which plugin is running: every hook implementation, wrapped when the plugins are loaded.

pluggy calls all the implementations of a hook in one go, so the engine cannot tell from the
call which plugin raised, or which one is registering a type.  Instead, :func:`attribute_hooks`
replaces each implementation's function (pluggy's ``HookImpl.function``) by one that, while
the plugin's code runs, sets a context variable to the plugin's name (:func:`running_plugin`)
and tags an exception escaping it with that name if nothing inside tagged it first
(:func:`raised_by`: the innermost plugin wins, so an error passing through another plugin's
wrapper still names the plugin that raised it).  This names the right plugin whatever its
code looks like: two instances of one class, closures made by one factory, methods under one
shared decorator.

The same wrapper checks what the implementation returns (:class:`ListOf`, so a string is never
taken for a list of problems) and, for notification hooks, logs and swallows a listener's own
exception so that the others still hear.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Collection, Generator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import pluggy

from qms_engine.errors import PluginError

log = logging.getLogger("qms_engine")

_RUNNING: ContextVar[str | None] = ContextVar("qms_engine_running_plugin", default=None)
_TAG = "_qms_engine_plugin"
_ATTRIBUTED = "_qms_engine_attributed"


def running_plugin() -> str | None:
    """The plugin whose hook implementation is running now (the innermost one), if any."""
    return _RUNNING.get()


def raised_by(error: BaseException) -> str | None:
    """The plugin whose hook implementation ``error`` escaped first, if it came from one."""
    name = getattr(error, _TAG, None)
    return name if isinstance(name, str) else None


def _tag(error: BaseException, plugin: str) -> BaseException:
    if raised_by(error) is None:
        with contextlib.suppress(AttributeError, TypeError):  # a type without a __dict__
            setattr(error, _TAG, plugin)
    return error


@dataclass(frozen=True)
class ListOf:
    """What an implementation of a hook may return: ``None``, or a list (or tuple) of
    ``items``; ``what`` names them for the error message (``"problems (str)"``)."""

    items: tuple[type, ...]
    what: str

    def accepts(self, value: object) -> bool:
        """Whether ``value`` is ``None`` or a list or tuple of ``items``."""
        return value is None or (
            isinstance(value, list | tuple) and all(isinstance(v, self.items) for v in value)
        )


def _shown(value: object) -> str:
    text = repr(value)
    text = text if len(text) <= 80 else f"{text[:77]}..."
    return f"{text} ({type(value).__name__})"


@dataclass(frozen=True)
class _Attribution:
    """How one implementation is called: for which plugin and hook, what it may return."""

    plugin: str
    hook: str
    result: ListOf | None
    firstresult: bool
    listener: bool

    def check(self, value: object) -> None:
        if self.result is not None and not self.result.accepts(value):
            raise PluginError(
                f"plugin {self.plugin!r}: {self.hook} returned {_shown(value)}; it must return "
                f"None or a list of {self.result.what}"
            )

    def check_wrapped(self, value: object) -> None:
        """What a ``wrapper=True`` implementation returns: pluggy's result of the whole call
        (one value for a firstresult hook, else a list with one value per implementation)."""
        if self.result is None:
            return
        if self.firstresult:
            self.check(value)
        elif not isinstance(value, list) or not all(self.result.accepts(v) for v in value):
            raise PluginError(
                f"plugin {self.plugin!r}: its {self.hook} wrapper returned {_shown(value)}; it "
                f"must return a list with one entry per implementation, each None or a list of "
                f"{self.result.what}"
            )

    def failed(self, error: Exception) -> None:
        """A listener's own failure: logged naming it, then dropped (the others still hear)."""
        log.error("listener %s failed in %s: %r", self.plugin, self.hook, error)

    def call(self, function: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        """Run a plain implementation as the plugin."""
        token = _RUNNING.set(self.plugin)
        try:
            value = function(*args, **kwargs)
            self.check(value)
        except Exception as error:
            _tag(error, self.plugin)
            if not self.listener:
                raise
            self.failed(error)
            return None
        except BaseException as error:
            _tag(error, self.plugin)
            raise
        finally:
            _RUNNING.reset(token)
        return value

    def drive(self, teardown: object, old_style: bool) -> Generator[None, Any, Any]:
        """Stand in for a wrapper's generator: pluggy resumes this one (``next``, then ``send``
        or ``throw``), and this resumes the plugin's with the plugin's name set."""
        token = _RUNNING.set(self.plugin)
        try:
            if not isinstance(teardown, Generator):
                raise PluginError(
                    f"plugin {self.plugin!r}: its {self.hook} wrapper returned "
                    f"{_shown(teardown)} instead of a generator (a wrapper must `yield` once)"
                )
            try:
                next(teardown)
            except StopIteration:
                raise PluginError(
                    f"plugin {self.plugin!r}: its {self.hook} wrapper did not yield"
                ) from None
        except BaseException as error:
            _tag(error, self.plugin)
            raise
        finally:
            _RUNNING.reset(token)
        try:
            sent = yield
        except GeneratorExit:
            teardown.close()
            raise
        except BaseException as thrown:
            resume: Callable[[], object] = functools.partial(teardown.throw, thrown)
        else:
            resume = functools.partial(teardown.send, sent)
        token = _RUNNING.set(self.plugin)
        try:
            resume()
            teardown.close()
            raise PluginError(f"plugin {self.plugin!r}: its {self.hook} wrapper yielded twice")
        except StopIteration as stop:
            value = stop.value
        except BaseException as error:
            _tag(error, self.plugin)
            raise
        finally:
            _RUNNING.reset(token)
        if not old_style:  # an old-style hookwrapper's result is pluggy's, not its own
            try:
                self.check_wrapped(value)
            except PluginError as error:
                _tag(error, self.plugin)
                raise
        return value


def _attributed(implementation: pluggy.HookImpl, how: _Attribution) -> Callable[..., Any]:
    function: Callable[..., Any] = implementation.function
    if implementation.wrapper or implementation.hookwrapper:
        old_style = bool(implementation.hookwrapper)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = _RUNNING.set(how.plugin)
            try:
                teardown = function(*args, **kwargs)
            except BaseException as error:
                _tag(error, how.plugin)
                raise
            finally:
                _RUNNING.reset(token)
            return how.drive(teardown, old_style)

        return wrapper

    @functools.wraps(function)
    def plain(*args: Any, **kwargs: Any) -> Any:
        return how.call(function, args, kwargs)

    return plain


def attribute_hooks(
    manager: pluggy.PluginManager,
    *,
    results: Mapping[str, ListOf],
    listeners: Collection[str],
) -> None:
    """Wrap every registered hook implementation (once; see the module's docstring).

    ``results``: for each hook whose return value the engine reads, what an implementation
    may return.  ``listeners``: notification hooks, whose plain implementations log and
    swallow their own exceptions (a ``wrapper=True`` listener's exception reaches the caller).
    """
    for caller in vars(manager.hook).values():
        if not isinstance(caller, pluggy.HookCaller):
            continue
        firstresult = bool(caller.spec and caller.spec.opts.get("firstresult"))
        for implementation in caller.get_hookimpls():
            if getattr(implementation.function, _ATTRIBUTED, False):
                continue
            how = _Attribution(
                plugin=implementation.plugin_name,
                hook=caller.name,
                result=results.get(caller.name),
                firstresult=firstresult,
                listener=caller.name in listeners,
            )
            function = _attributed(implementation, how)
            setattr(function, _ATTRIBUTED, True)
            # HookImpl.function is typed Final, but it is the one pluggy calls.
            setattr(implementation, "function", function)  # noqa: B010
