"""The codec's compiled kernels (kernels.c), or None where the install could not build them.

Callers look kernels up at each call (compiled.kernels), so that the tests
can run the numpy/OpenCV code beside them: both compute the same samples.
"""

from __future__ import annotations

import importlib
from types import ModuleType

kernels: ModuleType | None
try:
    kernels = importlib.import_module("regioncodec._kernels")
except ImportError:  # installed without a C compiler: the numpy/OpenCV code runs, more slowly
    kernels = None
