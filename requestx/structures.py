"""Data structures requests exposes: CaseInsensitiveDict and LookupDict."""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Optional, TypeVar, Union

__all__ = ["CaseInsensitiveDict", "LookupDict"]

_V = TypeVar("_V")


def _slotted_state(obj: Any) -> tuple[Optional[dict[str, Any]], Optional[dict[str, Any]]]:
    """The pickle state of an object with __slots__, in the form
    object.__getstate__ gives at protocol 2 and up: (instance dict or None,
    the slots that are set). Protocols 0 and 1 refuse a class with __slots__
    that does not define __getstate__; one that returns this pickles at every
    protocol, and pickles written before it existed still load (the default
    unpickling sets the slots, no __setstate__ needed)."""
    import copyreg

    slots = {}
    for name in copyreg._slotnames(type(obj)):  # type: ignore[attr-defined]
        try:
            slots[name] = getattr(obj, name)
        except AttributeError:
            pass
    return getattr(obj, "__dict__", None) or None, slots or None


class CaseInsensitiveDict(MutableMapping[str, _V]):
    """A dict whose str keys compare case-insensitively but keep the case they
    were last set with (``iter``, ``keys()`` and ``items()`` show that case)."""

    __slots__ = ("_store",)

    def __init__(
        self,
        data: Union[Mapping[str, _V], Iterable[tuple[str, _V]], None] = None,
        **kwargs: _V,
    ) -> None:
        self._store: dict[str, tuple[str, _V]] = {}
        if data is None:
            data = {}
        self.update(data, **kwargs)

    def __setitem__(self, key: str, value: _V) -> None:
        self._store[key.lower()] = (key, value)

    def __getitem__(self, key: str) -> _V:
        return self._store[key.lower()][1]

    def __delitem__(self, key: str) -> None:
        del self._store[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return (cased for cased, _ in self._store.values())

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._store

    def items(self) -> ItemsView[str, _V]:
        return _ItemsView(self)

    def lower_items(self) -> Iterator[tuple[str, _V]]:
        """Like items(), but with all lowercase keys."""
        return ((lower, kv[1]) for lower, kv in self._store.items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            other = CaseInsensitiveDict(other)
        else:
            return NotImplemented
        return dict(self.lower_items()) == dict(other.lower_items())

    def copy(self) -> CaseInsensitiveDict[_V]:
        new: CaseInsensitiveDict[_V] = CaseInsensitiveDict.__new__(CaseInsensitiveDict)
        new._store = self._store.copy()
        return new

    def __repr__(self) -> str:
        return str(dict(self.items()))

    def __getstate__(self) -> Any:
        return _slotted_state(self)


class _ItemsView(ItemsView[str, _V]):
    """items() without a __getitem__ call per key."""

    _mapping: CaseInsensitiveDict[_V]

    def __iter__(self) -> Iterator[tuple[str, _V]]:
        return iter(list(self._mapping._store.values()))


class LookupDict(dict[str, _V]):
    """A dict whose missing keys read as None, also through attributes."""

    def __init__(self, name: Optional[str] = None) -> None:
        self.name = name
        super().__init__()

    def __repr__(self) -> str:
        return f"<lookup '{self.name}'>"

    def __getitem__(self, key: Any) -> Any:  # None for a missing key, unlike dict's
        return self.__dict__.get(key, None)

    if TYPE_CHECKING:  # the names are attributes (requestx.codes.ok)

        def __getattr__(self, name: str) -> _V: ...

    def get(self, key: Any, default: Any = None) -> Any:
        return self.__dict__.get(key, default)
