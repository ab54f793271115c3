"""Plug-ins by entry point: installed packages add estimators and refiners without a fork.

A package declares, in its ``pyproject.toml``::

    [project.entry-points."gazebench.estimators"]
    my-knn = "my_pkg.knn:MyKNN"
    [project.entry-points."gazebench.refiners"]
    my-refiner = "my_pkg.refiner:MyRefiner"

Listing reads only the installed metadata (nothing is imported), so a broken plug-in never
breaks ``list_estimators()`` / ``list_refiners()`` or a run that does not use it. The class is
imported when a run first asks for that name, and every failure then (import error, missing
method) is a :class:`~estimators.base.UserError` naming the plug-in: one line, never a traceback.
Lives in the lowest layer so that ``refine`` can share it.
"""

from __future__ import annotations

import importlib
import warnings
from importlib.metadata import entry_points
from typing import Any

from estimators.base import UserError

ESTIMATOR_GROUP = "gazebench.estimators"
REFINER_GROUP = "gazebench.refiners"


def plugin_specs(group: str, builtin: dict[str, str]) -> dict[str, str]:
    """Plug-in name -> "module:Class" for an entry-point group, built-in names left out.

    A plug-in that reuses a built-in name is skipped with a warning: the built-in keeps it, so
    installing a package can never change what an existing suite row means.
    """
    try:
        found = entry_points(group=group)
    except Exception as e:  # noqa: BLE001 - unreadable metadata must not break the built-ins
        warnings.warn(f"{group}: cannot read installed entry points ({e})", stacklevel=2)
        return {}
    specs: dict[str, str] = {}
    for ep in found:
        if ep.name in builtin:
            warnings.warn(
                f"{group} plug-in {ep.name!r} ({ep.value}) is shadowed by the built-in of that "
                "name; rename it to use it",
                stacklevel=2,
            )
            continue
        specs.setdefault(ep.name, ep.value)
    return specs


def plugin_label(kind: str, name: str, spec: str) -> str:
    """How error lines name a plug-in: ``plug-in refiner 'x' (pkg.mod:Class)``."""
    return f"plug-in {kind} {name!r} ({spec})"


def load_object(spec: str, kind: str, name: str, plugin: bool) -> Any:
    """Import ``"module:attr"``; a plug-in's failure becomes a one-line UserError naming it."""
    module_name, _, attr = spec.partition(":")
    if not plugin:  # a built-in that fails to import is a bug: keep its traceback
        return getattr(importlib.import_module(module_name), attr)
    where = plugin_label(kind, name, spec)
    if not attr:
        raise UserError(f"{where}: entry point must be 'module:Class'")
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # noqa: BLE001 - any import-time failure of foreign code
        raise UserError(f"{where}: import failed: {type(e).__name__}: {e}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise UserError(f"{where}: module {module_name!r} has no attribute {attr!r}") from None


def require_methods(obj: Any, methods: tuple[str, ...], where: str) -> None:
    """Raise a UserError naming the first of ``methods`` that ``obj`` lacks (or has not callable)."""
    for m in methods:
        if not callable(getattr(obj, m, None)):
            raise UserError(f"{where}: has no {m}() method (needs {', '.join(methods)})")


def instantiate(cls: Any, params: dict[str, Any], where: str) -> Any:
    """``cls(**params)``, with a plug-in's failure as one line."""
    try:
        return cls(**params)
    except Exception as e:  # noqa: BLE001 - foreign constructors raise anything
        raise UserError(
            f"{where}: could not be created with {params}: {type(e).__name__}: {e}"
        ) from None


class Registry:
    """Name -> class for one kind of thing (estimators, refiners): the built-ins, ``name:
    "module:Class"`` imported when first asked for, and the installed plug-ins of one entry-point
    group. The guards both kinds share live here: an unknown name lists the registered ones, a
    plug-in that reuses a built-in name is shadowed (:func:`plugin_specs`), and a plug-in that
    fails to import, lacks a method of ``methods`` or rejects its params is one UserError line.
    A built-in that fails is a bug and keeps its traceback."""

    def __init__(self, kind: str, group: str, builtins: dict[str, str], methods: tuple[str, ...]):
        self.kind, self.group, self.builtins, self.methods = kind, group, builtins, methods

    def plugins(self) -> dict[str, str]:
        """Installed plug-in name -> "module:Class" (nothing imported)."""
        return plugin_specs(self.group, self.builtins)

    def names(self) -> list[str]:
        """Every registered name, built-in or plug-in, sorted."""
        return sorted({**self.builtins, **self.plugins()})

    def is_plugin(self, name: str) -> bool:
        return name not in self.builtins and name in self.plugins()

    def label(self, name: str) -> str:
        """How messages name it: ``refiner 'x'``, or the plug-in and its entry point."""
        if name in self.builtins:
            return f"{self.kind} {name!r}"
        return plugin_label(self.kind, name, self.plugins().get(name, "?"))

    def get_class(self, name: str, asked: str | None = None) -> Any:
        """The class registered as ``name``; an unknown one is a UserError naming ``asked`` (the
        name as the user wrote it; default ``name``) and listing the registered names."""
        if name in self.builtins:
            return load_object(self.builtins[name], self.kind, name, plugin=False)
        plugins = self.plugins()
        if name not in plugins:
            shown = name if asked is None else asked
            raise UserError(f"unknown {self.kind} {shown!r}; available: {', '.join(self.names())}")
        cls = load_object(plugins[name], self.kind, name, plugin=True)
        require_methods(cls, self.methods, plugin_label(self.kind, name, plugins[name]))
        return cls

    def create(self, name: str, params: dict[str, Any], asked: str | None = None) -> Any:
        """An instance of ``name`` built with ``params``."""
        cls = self.get_class(name, asked)
        if name in self.builtins:
            return cls(**params)
        return instantiate(cls, params, self.label(name))
