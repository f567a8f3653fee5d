"""Build and install tlmsim.

The Cython sources in ``cext/`` compile into the single extension ``tlmsim._cext``;
the platform files in ``platforms/`` install as the package ``tlmsim.platforms``.
"""
import glob
import os
import re

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read_version():
    with open(os.path.join(HERE, "tlmsim", "__init__.py")) as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def extensions():
    sources = sorted(glob.glob("cext/*.pyx"))
    if not sources:
        return []
    ext = Extension(
        "tlmsim._cext",
        sources=["cext/_cext.pyx"],
        include_dirs=[numpy.get_include(), "cext"],
        extra_compile_args=["-O3"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    return cythonize([ext], language_level=3, compiler_directives={"embedsignature": True})


setup(
    name="tlmsim",
    version=read_version(),
    description="Transaction-level simulator for neural-network accelerators (SNN and ANN)",
    long_description=open(os.path.join(HERE, "README.md")).read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["tlmsim", "tlmsim.*"]) + ["tlmsim.platforms"],
    package_dir={"tlmsim.platforms": "platforms"},
    ext_modules=extensions(),
    install_requires=[
        "simpy>=4.0",
        "numpy>=1.24",
        "h5py>=3.8",
        "matplotlib>=3.6",
        "pandas>=1.5",
        "PyYAML>=6.0",
        "tqdm>=4.60",
    ],
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6.80", "pytest-benchmark>=4", "nbclient>=0.7",
                 "nbformat>=5.7", "ipykernel>=6", "pyvcd>=0.3", "scikit-learn>=1.2",
                 "dask[distributed]>=2023.1", "pyarrow>=12",
                 "onnx>=1.14", "onnxruntime>=1.16",
                 "nir>=1.0",  # NIR import tests: numpy and h5py only, no torch
                 "mypy==2.4.1"],  # .ci/run type-checks (configuration: pyproject.toml)
        "onnx": ["onnx>=1.14", "onnxruntime>=1.16"],
        "notebooks": ["jupyter", "nbclient>=0.7", "ipykernel>=6", "pyvcd>=0.3"],
        "torch": ["torch==2.13.0", "snntorch>=0.7", "nir>=1.0"],
        "dist": ["dask[distributed]>=2023.1", "pyarrow>=12"],
        "bench": ["scalesim==3.0.0"],  # tests/benchmarks/bench_scalesim.py
        "validation": ["sanafe==2.2.9"],
    },
    entry_points={"console_scripts": ["tlmsim=tlmsim.cli:main"]},
    include_package_data=True,
    zip_safe=False,
)
