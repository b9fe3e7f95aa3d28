"""The package's types hold for its users: requestx ships py.typed, so a
user's type checker reads requestx's own annotations.

mypy --strict runs in a subprocess from the repository root (so it also
checks requestx itself, following the script's imports) over
tests/typing/user_script.py, a requests-style script, and over a file of
reveal_type() calls whose answers must be those of requests' stubs.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy", reason="mypy is not installed")

ROOT = Path(__file__).resolve().parent.parent
USER_SCRIPT = ROOT / "tests" / "typing" / "user_script.py"

# expression -> the type mypy must reveal for it (builtins. prefixes dropped:
# mypy versions differ in printing them)
REVEALS = {
    "r.status_code": "int",
    "r.status_code + 1": "int",
    "r.headers": "requestx.structures.CaseInsensitiveDict[str]",
    "r.url": "str",
    "r.reason": "str",
    "r.ok": "bool",
    "r.content": "Any",
    "r.json()": "Any",
    "r.text": "str",
    "r.encoding": "str | None",
    "r.history": "list[requestx.models.Response]",
    "r.request": "requestx.models.PreparedRequest",
    "requestx.get(URL)": "requestx.models.Response",
    "requestx.post(URL, json={})": "requestx.models.Response",
    "requestx.request('GET', URL)": "requestx.models.Response",
    "requestx.Session().get(URL)": "requestx.models.Response",
    "requestx.Session().request('GET', URL)": "requestx.models.Response",
    "a.get(URL)": "typing.Awaitable[requestx.models.Response]",
    "a.post(URL)": "typing.Awaitable[requestx.models.Response]",
    "a_request": "typing.Coroutine[Any, Any, requestx.models.Response]",
    "requestx.codes.ok": "int",
}

REVEAL_SCRIPT = """\
import requestx

URL = "https://example.com/"
r = requestx.get(URL)
a = requestx.AsyncSession()
a_request = a.request("GET", URL)
"""


def run_mypy(*files: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--python-version",
            "3.11",
            "--cache-dir",
            str(cache),
            "--no-color-output",
            "--no-error-summary",
            *map(str, files),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.fixture(scope="module")
def mypy_output(
    tmp_path_factory: pytest.TempPathFactory, mypy_cache: Path
) -> tuple[str, list[str]]:
    """mypy's output over the user script and the reveal file, checked in one
    run; and the expressions in the reveal file's line order."""
    tmp = tmp_path_factory.mktemp("typing")
    reveal = tmp / "reveals.py"
    expressions = list(REVEALS)
    reveal.write_text(
        # assigned: a coroutine left unused is an error of its own
        REVEAL_SCRIPT + "".join(f"_{i} = reveal_type({e})\n" for i, e in enumerate(expressions)),
        encoding="utf-8",
    )
    result = run_mypy(USER_SCRIPT, reveal, cache=mypy_cache)
    if result.returncode not in (0, 1):  # 2: mypy itself failed
        pytest.fail(f"mypy failed:\n{result.stdout}{result.stderr}")
    return result.stdout, expressions


def test_the_user_script_and_requestx_type_check_under_strict(mypy_output):
    output, _ = mypy_output
    errors = [line for line in output.splitlines() if ": error:" in line]
    assert errors == []


@pytest.mark.parametrize("expression", list(REVEALS))
def test_revealed_type(mypy_output, expression):
    output, expressions = mypy_output
    first = REVEAL_SCRIPT.count("\n") + 1
    line = first + expressions.index(expression)
    found = re.findall(rf"reveals\.py:{line}: note: Revealed type is \"(.*)\"", output)
    assert found, output
    assert found[0].replace("builtins.", "") == REVEALS[expression]


def test_a_wrong_use_is_reported(tmp_path, mypy_cache):
    """The check sees errors at all: adding None to a status code is one."""
    script = tmp_path / "wrong.py"
    script.write_text(
        "import requestx\n"
        "r = requestx.get('https://example.com/')\n"
        "n: None = r.status_code\n"
        "r.no_such_attribute\n",
        encoding="utf-8",
    )
    result = run_mypy(script, cache=mypy_cache)
    assert "wrong.py:3: error:" in result.stdout
    assert "wrong.py:4: error:" in result.stdout
