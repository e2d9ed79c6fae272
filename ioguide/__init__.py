"""IO Guide: a citation-first assistant over interventional oncology guidelines."""

import os as _os

# Before anything imports numpy: one BLAS thread. On 2 cores, OpenBLAS's own threads spin after every matrix
# product and starve torch's (measured: the query embedding went from 9 ms to about 100 ms at p95).
# ioguide.index.quiet_libraries also limits an already-loaded BLAS at run time.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
_os.environ.setdefault("OMP_NUM_THREADS", "2")

__version__ = "0.1.0"
