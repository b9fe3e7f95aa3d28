"""Build the C engine, against the bundled libcurl or the system's.

REQUESTX_LIBCURL chooses:
  unset       the bundled build in build/libcurl/prefix (native/libcurl/build.sh,
              run by `make libcurl`) if it is there, else the system libcurl
  bundled     the bundled build; an error if it is missing
  system      the system libcurl, found with curl-config (Debian: libcurl4-openssl-dev)
  <a path>    a prefix laid out as the bundled build's
"""

import glob
import os
import shlex
import subprocess
import sys

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLED_PREFIX = os.path.join(HERE, "build", "libcurl", "prefix")

# Static archives of the bundled build, in link order (each after its users).
BUNDLED_ARCHIVES = [
    "libcurl.a",
    "libngtcp2_crypto_ossl.a",
    "libngtcp2.a",
    "libnghttp3.a",
    "libnghttp2.a",
    "libssl.a",
    "libcrypto.a",
    "libzstd.a",
    "libbrotlidec.a",
    "libbrotlicommon.a",
    "libz.a",
]


def system_flags(option: str) -> list[str]:
    try:
        out = subprocess.check_output(["curl-config", option], text=True)
    except (OSError, subprocess.CalledProcessError):
        return ["-lcurl"] if option == "--libs" else []
    return shlex.split(out)


def bundled_flags(prefix: str) -> tuple[list[str], list[str]]:
    lib = os.path.join(prefix, "lib")
    archives = [os.path.join(lib, name) for name in BUNDLED_ARCHIVES]
    missing = [path for path in archives if not os.path.isfile(path)]
    if missing:
        sys.exit(f"requestx: the bundled libcurl in {prefix} is incomplete: {missing[0]} is missing")
    compile_flags = ["-I" + os.path.join(prefix, "include"), "-DCURL_STATICLIB"]
    link_flags = [*archives, "-ldl"]
    return compile_flags, link_flags


def libcurl_flags() -> tuple[list[str], list[str]]:
    choice = os.environ.get("REQUESTX_LIBCURL", "")
    if choice == "system":
        return system_flags("--cflags"), system_flags("--libs")
    prefix = BUNDLED_PREFIX if choice in ("", "bundled") else os.path.abspath(choice)
    if os.path.isfile(os.path.join(prefix, "lib", "libcurl.a")):
        print(f"requestx: building against the bundled libcurl in {prefix}", file=sys.stderr)
        return bundled_flags(prefix)
    if choice:
        sys.exit(f"requestx: REQUESTX_LIBCURL={choice}, but {prefix} holds no libcurl.a (run `make libcurl`)")
    print("requestx: no bundled libcurl (`make libcurl` builds it); using the system libcurl", file=sys.stderr)
    return system_flags("--cflags"), system_flags("--libs")


extra_compile = ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-D_GNU_SOURCE"]
# The engine exports its module init and nothing else, whatever it links in:
# no clash with another libcurl or OpenSSL in the process (pycurl's, _ssl's).
extra_link = ["-Wl,--version-script=" + os.path.join(HERE, "native", "engine.map")]
if os.environ.get("REQUESTX_SANITIZE"):
    flags = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"]
    extra_compile += flags
    extra_link += ["-fsanitize=address,undefined"]

curl_compile, curl_link = libcurl_flags()

setup(
    ext_modules=[
        Extension(
            "requestx._engine",
            sources=["requestx/_engine/module.c"],
            depends=sorted(glob.glob("requestx/_engine/*.h")),  # rebuilt when any changes
            extra_compile_args=extra_compile + curl_compile,
            extra_link_args=extra_link + curl_link + ["-pthread"],
        )
    ],
)
