"""Batch repair of whole folder trees, with a manifest that makes every run resumable.

    lacuna batch ARCHIVE -o REPAIRED --task denoise --method denoise-bilateral --workers 4

- `items`: the tree walked into items (files, DICOM series folders)
- `recipe`: task, method and parameters per kind of item, checked up front
- `manifest`: the SQLite record of every item's state (the single source of truth)
- `worker`: one item read, repaired by `core.repair` and written atomically
- `pool`: the local engine (this process, or a pool of processes); `dask_engine`: a Dask cluster
- `large`: TIFFs larger than memory, tile by tile
- `runner`: a run from start to summary; `progress`: bar, quiet and JSON reporting; `cli`: the command
"""

from core.batch.runner import Batch, BatchRequest, Summary, plan
from core.batch.worker import RunOptions

__all__ = ["Batch", "BatchRequest", "RunOptions", "Summary", "plan"]
