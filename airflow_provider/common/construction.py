"""Build a run operator through one ``apply_defaults`` level, not one per ``__init__`` of its chain.

Airflow wraps the ``__init__`` of every class of an operator's chain in ``apply_defaults``; each
level copies the DAG's ``default_args``, deep-copies its params, fills the level's own arguments
from them and records its kwargs. A run operator has three levels (the platform operator,
``RemoteJobOperator``, ``BaseOperator``) where ``EmptyOperator`` has one, which made a DAG file of
200 of them 1.5-2x as slow to build as the same file of ``EmptyOperator`` (docs/performance.md).

The outermost level has merged ``default_args`` and params already and passes them down, so an
inner level only needs to fill its own arguments from those ``default_args`` and record its kwargs
(serialisation reads them to tell an explicit value from a default). :func:`inner_level` does that
for ``RemoteJobOperator``'s own ``__init__``, :func:`init_base_operator` for ``BaseOperator``'s.
Where the outermost level is not Airflow's (a subclass without its own ``__init__``, one that
drops ``default_args``) or a class with its own ``__init__`` sits between ours and
``BaseOperator``, both take Airflow's whole path. ``tests/common/test_construction.py`` builds
every operator both ways and compares the results and their serialisation.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from airflow.sdk import BaseOperator

#: off: every level goes through Airflow's apply_defaults (the tests compare both ways)
ENABLED = True

#: where BaseOperator keeps the kwargs it was built with
INIT_KWARGS = "_BaseOperator__init_kwargs"
#: what apply_defaults marks its wrapper with: partial() and expand() check their arguments against it
MARKS = ("_BaseOperatorMeta__param_names", "_BaseOperatorMeta__non_optional_args")

ClassT = TypeVar("ClassT", bound=type[BaseOperator])


def own_arguments(init: Callable[..., Any]) -> frozenset[str]:
    named = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return frozenset(name for name, p in inspect.signature(init).parameters.items() if name != "self" and p.kind in named)


BASE_INIT: Callable[..., None] = BaseOperator.__init__.__wrapped__  # type: ignore[attr-defined]
BASE_ARGUMENTS = own_arguments(BASE_INIT)


def _fill(kwargs: dict[str, Any], names: frozenset[str]) -> None:
    for name, value in (kwargs["default_args"] or {}).items():
        if name in names and name not in kwargs:
            kwargs[name] = value


def _as_inner_level(operator: BaseOperator, init: Callable[..., None], names: frozenset[str], kwargs: dict[str, Any]) -> None:
    """What Airflow's wrapper of an inner level adds once the outer level has merged the defaults."""
    _fill(kwargs, names)
    init(operator, **kwargs)
    recorded: dict[str, Any] = getattr(operator, INIT_KWARGS)
    recorded.update(kwargs)
    recorded.pop("default_args", None)  # as apply_defaults records them: default_args are not among them


def inner_level(cls: ClassT) -> ClassT:
    """Class decorator: ``cls.__init__`` skips ``apply_defaults`` when a subclass's level has applied them."""
    full = cls.__init__  # Airflow's apply_defaults around cls's own __init__
    own = full.__wrapped__  # type: ignore[attr-defined]
    names = own_arguments(own)

    @functools.wraps(own)
    def __init__(self: BaseOperator, **kwargs: Any) -> None:
        if not ENABLED or type(self).__init__ is __init__ or "default_args" not in kwargs:
            full(self, **kwargs)
            return
        _as_inner_level(self, own, names, kwargs)

    for mark in MARKS:
        setattr(__init__, mark, getattr(full, mark))
    setattr(cls, "__init__", __init__)  # noqa: B010 - mypy refuses assigning a method
    return cls


@functools.cache
def _next_init(cls: type, after: type) -> Any:
    mro = cls.__mro__
    return next(c.__dict__["__init__"] for c in mro[mro.index(after) + 1 :] if "__init__" in c.__dict__)


def init_base_operator(operator: BaseOperator, owner: type[BaseOperator], kwargs: dict[str, Any]) -> None:
    """``super(owner, operator).__init__(**kwargs)``, without a second ``apply_defaults`` where that is safe."""
    if not ENABLED or "default_args" not in kwargs or _next_init(type(operator), owner) is not BaseOperator.__init__:
        init: Callable[..., None] = super(owner, operator).__init__
        init(**kwargs)
        return
    _as_inner_level(operator, BASE_INIT, BASE_ARGUMENTS, kwargs)
