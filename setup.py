"""Build the C engine against the system libcurl (Debian: libcurl4-openssl-dev)."""

import glob
import os
import shlex
import subprocess

from setuptools import Extension, setup


def curl_flags(option: str) -> list[str]:
    try:
        out = subprocess.check_output(["curl-config", option], text=True)
    except (OSError, subprocess.CalledProcessError):
        return ["-lcurl"] if option == "--libs" else []
    return shlex.split(out)


extra_compile = ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-D_GNU_SOURCE"]
extra_link: list[str] = []
if os.environ.get("REQUESTX_SANITIZE"):
    flags = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"]
    extra_compile += flags
    extra_link += ["-fsanitize=address,undefined"]

setup(
    ext_modules=[
        Extension(
            "requestx._engine",
            sources=["requestx/_engine/module.c"],
            depends=sorted(glob.glob("requestx/_engine/*.h")),  # rebuilt when any changes
            extra_compile_args=extra_compile + curl_flags("--cflags"),
            extra_link_args=extra_link + curl_flags("--libs") + ["-pthread"],
        )
    ],
)
