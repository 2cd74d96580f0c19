"""Numpy views of Arrow arrays, taken from their buffers.

Reading the buffers directly is zero-copy for fixed-width values, and it keeps
pyarrow from importing pandas: ``np.asarray`` on an Arrow array, ``pa.array``
and ``pa.scalar`` all ask pyarrow's pandas shim whether the object is a pandas
one, which imports pandas (a third of a second) the first time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

BoolArray = npt.NDArray[np.bool_]


def numpy_dtype(t: pa.DataType) -> np.dtype[Any] | None:
    """The numpy dtype holding an Arrow integer or floating type, else ``None``."""
    if pa.types.is_integer(t):
        return np.dtype(f"{'i' if pa.types.is_signed_integer(t) else 'u'}{t.bit_width // 8}")
    if pa.types.is_floating(t):
        return np.dtype(f"f{t.bit_width // 8}")
    return None


def values(arr: pa.Array) -> npt.NDArray[Any]:
    """The values of a fixed-width numeric (or boolean) array; undefined where null.

    Numbers are a zero-copy view; booleans are unpacked into ``uint8`` 0/1.
    """
    n = len(arr)
    t = arr.type
    buf = arr.buffers()[1]
    if pa.types.is_boolean(t):
        if buf is None or n == 0:
            return np.zeros(n, dtype=np.uint8)
        return _bits(buf, arr.offset, n).view(np.uint8)
    dtype = numpy_dtype(t)
    if dtype is None:
        raise TypeError(f"no numpy view of {t}")
    if buf is None or n == 0:
        return np.zeros(n, dtype=dtype)
    return np.frombuffer(buf, dtype=dtype, count=arr.offset + n)[arr.offset:]


def missing(arr: pa.Array) -> BoolArray | None:
    """Where the array is null; ``None`` when no row is."""
    if arr.null_count == 0:
        return None
    n = len(arr)
    if arr.null_count == n or arr.buffers()[0] is None:
        return np.ones(n, dtype=bool)
    return _bits(arr.buffers()[0], arr.offset, n, invert=True)


def indices(arr: pa.DictionaryArray, null_code: int) -> npt.NDArray[np.integer[Any]]:
    """The dictionary indices of each row, with ``null_code`` where the row is null."""
    codes = values(arr.indices)
    absent = missing(arr.indices)
    if absent is not None:
        codes = codes.copy()
        np.copyto(codes, codes.dtype.type(null_code), where=absent)
    return codes


def mask(flags: BoolArray) -> pa.BooleanArray:
    """An Arrow boolean array of ``flags`` (for ``filter``), built without pyarrow's conversions."""
    packed = np.packbits(np.asarray(flags, dtype=bool), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(flags), [None, pa.py_buffer(packed)])


def _bits(buf: pa.Buffer, offset: int, n: int, invert: bool = False) -> BoolArray:
    raw = np.frombuffer(buf, dtype=np.uint8, count=(offset + n + 7) // 8)
    if invert:  # inverting the packed bytes is 8 times less work than the unpacked ones
        raw = np.invert(raw)
    return np.unpackbits(raw, count=offset + n, bitorder="little")[offset:].view(bool)
