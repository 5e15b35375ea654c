"""The one build step pyproject.toml cannot state without a warning yet: the codec's compiled kernels.

regioncodec/kernels.c is optional: where no C compiler is found the install goes on without it, and the
numpy/OpenCV code computes the same samples more slowly (regioncodec/compiled.py).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("regioncodec._kernels", ["regioncodec/kernels.c"], optional=True)])
