"""The command line's allocator settings: set on Linux, unless the environment has them."""

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
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)  # restored afterwards
    monkeypatch.setattr(ctypes, "CDLL", Libc)
    cli._tune_memory()
    assert calls == [(-3, 256 << 20), (-1, 256 << 20)]


def test_an_environment_setting_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "1048576")
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    monkeypatch.setattr(ctypes, "CDLL", lambda name: pytest.fail("mallopt called"))
    cli._tune_memory()


def test_without_glibc_nothing_happens(monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)

    def missing(name):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(ctypes, "CDLL", missing)
    cli._tune_memory()  # no error: the allocator is left as it is


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_real_call_is_accepted():
    libc = ctypes.CDLL("libc.so.6")
    assert libc.mallopt(-3, 256 << 20) == 1  # glibc returns 1 on success


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's allocators")
def test_pyarrow_gets_jemalloc_unless_told_otherwise(tmp_path):
    import subprocess

    code = ("import sys; import fairaudit.cli as c; c._tune_memory(); import pyarrow as pa; "
            "print(pa.default_memory_pool().backend_name)")
    env = {k: v for k, v in __import__("os").environ.items()
           if k != "ARROW_DEFAULT_MEMORY_POOL"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "jemalloc", out.stderr
    env["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "system"


def test_the_environment_of_the_floors_is_the_same_setting():
    env = cli.memory_environment()
    assert env["MALLOC_MMAP_THRESHOLD_"] == str(cli.MMAP_THRESHOLD)
    assert env["ARROW_DEFAULT_MEMORY_POOL"] == cli.ARROW_POOL
