"""The layer's hash-pinned requirements: the closure of the service's pins in the lock."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lambda_otel_xray.errors import ToolError
from lambda_otel_xray.layer import lock

A, B, C, W = "a" * 64, "b" * 64, "c" * 64, "d" * 64
LOCK: dict[str, Any] = {
    "pythons": {
        "3.13": {
            "opentelemetry-api": {"version": "1.45.1", "requires": ["typing-extensions"]},
            "opentelemetry-sdk": {"version": "1.45.1", "requires": ["opentelemetry-api"]},
            "typing-extensions": {"version": "4.16.0", "requires": []},
            "wrapt": {"version": "1.17.3", "requires": []},
        }
    },
    "hashes": {
        "opentelemetry-api==1.45.1": [A],
        "opentelemetry-sdk==1.45.1": [B],
        "typing-extensions==4.16.0": [C],
        "wrapt==1.17.3": [W, "e" * 64],
    },
}


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("#")]


def test_the_closure_of_the_pins_with_every_hash() -> None:
    text = "# pins\nopentelemetry_SDK==1.45.1\n\nwrapt==1.17.3  # why\n"
    assert lines(lock.hashed_requirements(text, "3.13", LOCK)) == [
        f"opentelemetry-api==1.45.1 --hash=sha256:{A}",
        f"opentelemetry-sdk==1.45.1 --hash=sha256:{B}",
        f"typing-extensions==4.16.0 --hash=sha256:{C}",
        f"wrapt==1.17.3 --hash=sha256:{W} --hash=sha256:{'e' * 64}",
    ]


def test_a_hash_pinned_file_is_the_teams_own() -> None:
    text = f"wrapt==1.17.3 --hash=sha256:{W}\n"
    assert lock.hashed_requirements(text, "3.13", LOCK) == text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("opentelemetry-sdk==1.40.0\n", "the tool's lock holds opentelemetry-sdk 1.45.1"),
        ("requests==2.32.3\n", "the tool's lock does not hold requests"),
        ("opentelemetry-sdk>=1.45\n", "line 1 is not a `name==version` pin"),
        ("-r other.txt\n", "line 1 is not a `name==version` pin"),
    ],
    ids=["other-version", "not-locked", "a-range", "an-include"],
)
def test_pins_the_lock_cannot_hash_are_refused_with_the_fix(text: str, problem: str) -> None:
    with pytest.raises(ToolError) as raised:
        lock.hashed_requirements(text, "3.13", LOCK)
    message = raised.value.render()
    assert problem in message
    assert "copier update" in message and "--generate-hashes" in message


def test_a_python_the_lock_does_not_hold_is_refused() -> None:
    with pytest.raises(ToolError, match=r"no packages for Python 3\.9"):
        lock.hashed_requirements("wrapt==1.17.3\n", "3.9", LOCK)


PACKAGES = lock.locked_packages(lock.load(), "3.13")


@settings(max_examples=60, derandomize=True, deadline=None)
@given(roots=st.sets(st.sampled_from(sorted(PACKAGES)), min_size=1))
def test_any_set_of_locked_pins_gives_a_closed_hashed_set(roots: set[str]) -> None:
    """For the shipped lock: whatever subset of its packages a service pins, the result holds
    those pins, every package they require, nothing else, and each with its lock hashes."""
    text = "".join(f"{name}=={PACKAGES[name].version}\n" for name in sorted(roots))
    out = {}
    for line in lines(lock.hashed_requirements(text, "3.13")):
        pin, *hashes = line.split(" ")
        name, version = pin.split("==")
        out[name] = (version, tuple(h.removeprefix("--hash=sha256:") for h in hashes))
    assert roots <= set(out)
    for name, (version, hashes) in out.items():
        assert (version, hashes) == (PACKAGES[name].version, PACKAGES[name].hashes)
        assert set(PACKAGES[name].requires) <= set(out)
    # Nothing outside the closure: each extra package is required by another in the result.
    required = {r for name in out for r in PACKAGES[name].requires}
    assert set(out) - roots <= required
