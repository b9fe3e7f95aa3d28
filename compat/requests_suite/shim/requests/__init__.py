"""A stand-in ``requests`` package that loads requestx, for running requests'
own test suite against requestx (see ../../README.md).

Put the directory holding this package first on ``sys.path``; then
``import requests`` gives this module and ``import requests.<sub>`` gives a
thin alias of ``requestx.<sub>``. The shim only maps names; it contains no
HTTP logic. Names are looked up in requestx at each access, so whatever
requestx adds later is picked up without touching this file.

A name requestx lacks is resolved, in this order, from:

* ``STDLIB``: re-exports of the standard library or urllib3 that requests
  keeps in its own namespace (``requests.compat.urljoin``,
  ``requests.models.urlencode``); no behaviour of requests is involved;
* ``MISSING``: a placeholder that raises ``NotImplementedError("[shim] ...")``
  when called or used, so that a test module importing the name still loads
  and only the tests that use it fail, each with a message saying what is
  absent. ``run.py`` classifies such failures from that message.

Everything else raises ``AttributeError``/``ImportError`` as usual (for
example ``requests.pyopenssl``, which requests' tests probe with
``hasattr``). ``requests.help`` and ``requests.packages`` (urllib3, idna and
chardet under requests' name) are deliberately absent.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

import requestx

SHIM = "[shim]"


def _stdlib() -> dict[str, dict[str, Any]]:
    import collections
    import collections.abc
    import http.cookiejar
    import http.cookies
    import io
    import json
    import urllib.parse
    import urllib.request

    try:
        import urllib3

        is_urllib3_1 = urllib3.__version__.split(".")[0] == "1"
    except ImportError:  # requests' tests import urllib3 anyway
        is_urllib3_1 = False
    parse = urllib.parse
    request = urllib.request
    compat = {
        "is_urllib3_1": is_urllib3_1,
        "is_py2": False,
        "is_py3": True,
        "has_simplejson": False,
        "json": json,
        "JSONDecodeError": json.JSONDecodeError,
        "OrderedDict": collections.OrderedDict,
        "Callable": collections.abc.Callable,
        "Mapping": collections.abc.Mapping,
        "MutableMapping": collections.abc.MutableMapping,
        "cookielib": http.cookiejar,
        "Morsel": http.cookies.Morsel,
        "StringIO": io.StringIO,
        "builtin_str": str,
        "str": str,
        "bytes": bytes,
        "basestring": (str, bytes),
        "numeric_types": (int, float),
        "integer_types": (int,),
        "chardet": None,
    }
    for name in (
        "quote quote_plus unquote unquote_plus urldefrag urlencode urljoin "
        "urlparse urlsplit urlunparse"
    ).split():
        compat[name] = getattr(parse, name)
    for name in (
        "getproxies getproxies_environment parse_http_list proxy_bypass proxy_bypass_environment"
    ).split():
        compat[name] = getattr(request, name)
    return {
        "compat": compat,
        "models": {"urlencode": parse.urlencode},
        # requests' unicode_is_ascii(s) is the standard library's str.isascii
        "_internal_utils": {"unicode_is_ascii": str.isascii},
    }


def _missing_function(qualname: str, why: str) -> Any:
    def placeholder(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{SHIM} requestx has no {qualname}: {why}")

    placeholder.__name__ = placeholder.__qualname__ = qualname.rsplit(".", 1)[-1]
    placeholder.__shim_missing__ = qualname  # type: ignore[attr-defined]
    return placeholder


def _missing_class(qualname: str, why: str) -> type:
    message = f"{SHIM} requestx has no {qualname}: {why}"

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(message)

    def __getattr__(self: Any, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise NotImplementedError(f"{message} (.{attr})")

    name = qualname.rsplit(".", 1)[-1]
    return type(
        name,
        (),
        {"__init__": __init__, "__getattr__": __getattr__, "__shim_missing__": qualname},
    )


NO_ADAPTERS = "transport adapters do not exist, libcurl is the transport"
NO_UTILS = "requestx.utils does not provide this helper of requests.utils"

# Names requests' test modules import at module level that requestx lacks;
# without these a single absent name would stop a whole test file from
# loading. (module, name) -> (kind, why)
MISSING: dict[tuple[str, str], tuple[str, str]] = {
    ("adapters", "BaseAdapter"): ("class", NO_ADAPTERS),
    ("adapters", "HTTPAdapter"): ("class", NO_ADAPTERS),
    ("auth", "HTTPDigestAuth"): ("class", "not implemented yet"),
    ("sessions", "SessionRedirectMixin"): (
        "class",
        "redirect handling lives in requestx.sessions.Session",
    ),
}

# Modules requestx has no counterpart for, where every public name is a
# placeholder (requests' helpers; their tests are "private internals").
ALL_MISSING = {"utils": NO_UTILS, "_internal_utils": NO_UTILS}

# requests.<key> -> requestx modules to look names up in, in order.
SUBMODULES: dict[str, tuple[str, ...]] = {
    "api": ("requestx.api",),
    "auth": ("requestx.auth",),
    "cookies": ("requestx.cookies",),
    "exceptions": ("requestx.exceptions",),
    "models": ("requestx.models",),
    "sessions": ("requestx.sessions",),
    "status_codes": ("requestx.status_codes",),
    "structures": ("requestx.structures",),
    # requestx keeps HOOKS/default_hooks/dispatch_hook in models
    "hooks": ("requestx.hooks", "requestx.models"),
    "adapters": ("requestx.adapters",),
    "compat": ("requestx.compat",),
    "utils": ("requestx.utils",),
    # requests.utils re-exports what tests import from _internal_utils
    # (to_native_string, ...): requestx keeps those in requestx.utils
    "_internal_utils": ("requestx._internal_utils", "requestx.utils"),
}
HOOK_NAMES = {"HOOKS", "default_hooks", "dispatch_hook"}


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


class _Alias(types.ModuleType):
    """``requests.<sub>``: reads and writes go to requestx's module, so
    ``mock.patch("requests.sessions.X")`` patches requestx itself."""

    def __init__(self, sub: str, targets: list[Any], fallback: dict[str, Any]) -> None:
        super().__init__(f"requests.{sub}")
        state = vars(self)
        state["_sub"] = sub
        state["_targets"] = targets
        state["_fallback"] = fallback
        state["_deleted"] = set()
        state["__file__"] = __file__
        if targets:
            state["__doc__"] = targets[0].__doc__

    def _lookup(self, attr: str) -> Any:
        sub = vars(self)["_sub"]
        for target in vars(self)["_targets"]:
            if target.__name__ == "requestx.models" and sub == "hooks" and attr not in HOOK_NAMES:
                continue  # requests.hooks shows only the hook names of models
            if hasattr(target, attr):
                return getattr(target, attr)
        fallback = vars(self)["_fallback"]
        if attr in fallback:
            return fallback[attr]
        why = ALL_MISSING.get(sub)
        if why is not None and not attr.startswith("__") and attr not in vars(self)["_deleted"]:
            return _missing_function(f"requests.{sub}.{attr}", why)
        raise AttributeError(
            f"module 'requests.{sub}' has no attribute {attr!r} (requestx has no such name)"
        )

    def __getattr__(self, attr: str) -> Any:
        return self._lookup(attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        targets = vars(self)["_targets"]
        if targets and not attr.startswith("__"):
            vars(self)["_deleted"].discard(attr)
            setattr(targets[0], attr, value)
        else:
            vars(self)[attr] = value

    def __delattr__(self, attr: str) -> None:
        targets = vars(self)["_targets"]
        if targets and not attr.startswith("__"):
            delattr(targets[0], attr)
            # a deleted name is absent, not a placeholder: mock.patch deletes
            # the patched name, then puts it back only if hasattr() is False
            vars(self)["_deleted"].add(attr)
        else:
            del vars(self)[attr]

    def __dir__(self) -> list[str]:
        names = set(vars(self)["_fallback"])
        for target in vars(self)["_targets"]:
            names.update(n for n in dir(target) if hasattr(self, n))
        return sorted(names)


def _install() -> None:
    stdlib = _stdlib()
    package = sys.modules[__name__]
    for sub, candidates in SUBMODULES.items():
        targets = [m for m in map(_import, candidates) if m is not None]
        fallback = dict(stdlib.get(sub, {}))
        for (module, name), (kind, why) in MISSING.items():
            if module == sub:
                make = _missing_class if kind == "class" else _missing_function
                fallback[name] = make(f"requests.{sub}.{name}", why)
        alias = _Alias(sub, targets, fallback)
        sys.modules[f"requests.{sub}"] = alias
        setattr(package, sub, alias)


_install()


def __getattr__(attr: str) -> Any:
    # requests.get, requests.Session, requests.codes, ...: requestx's own.
    try:
        return getattr(requestx, attr)
    except AttributeError:
        raise AttributeError(f"module 'requests' has no attribute {attr!r}") from None


def __dir__() -> list[str]:
    return sorted(set(dir(requestx)) | set(SUBMODULES) | set(globals()))


__version__ = requestx.__version__
