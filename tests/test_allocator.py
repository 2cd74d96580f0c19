"""The command line's allocator setting: set on glibc, left alone when the environment sets it."""

from __future__ import annotations

import ctypes
import sys

import pytest

from fairaudit import cli


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_threshold_is_set_through_mallopt(monkeypatch):
    calls = []

    class Libc:
        def __init__(self, name):
            assert name == "libc.so.6"
            self.mallopt = self

        def __call__(self, option, value):
            calls.append((option, value))
            return 1

    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.setattr(ctypes, "CDLL", Libc)
    cli._reuse_freed_memory()
    assert calls == [(-3, 256 << 20), (-1, 256 << 20)]


def test_an_environment_setting_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "1048576")
    monkeypatch.setattr(ctypes, "CDLL", lambda name: pytest.fail("mallopt called"))
    cli._reuse_freed_memory()


def test_without_glibc_nothing_happens(monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)

    def missing(name):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(ctypes, "CDLL", missing)
    cli._reuse_freed_memory()  # no error: the allocator is left as it is


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_real_call_is_accepted():
    libc = ctypes.CDLL("libc.so.6")
    assert libc.mallopt(-3, 256 << 20) == 1  # glibc returns 1 on success
