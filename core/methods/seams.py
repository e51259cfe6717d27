"""Hide the seam where copied content meets the picture (gradient-domain blending, Pérez et al. 2003).

A fill copied from elsewhere keeps its own brightness and colour, so its edge shows as a step. The
smoothest correction that removes the step is harmonic: inside the hole it solves Laplace's equation,
and on the hole's rim it equals the picture minus the copy there. Adding it keeps the copy's texture.
"""

from __future__ import annotations

import numpy as np

NEIGHBOURS = ((1, 0), (-1, 0), (0, 1), (0, -1))


def harmonic_fill(values: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """`values` (H, W, C) with its `hole` pixels replaced by the harmonic interpolation of the pixels
    around them (each hole pixel the mean of its four neighbours; the image's edge is a mirror)."""
    import scipy.sparse
    import scipy.sparse.linalg

    height, width = hole.shape
    ys, xs = np.nonzero(hole)
    count = len(ys)
    index = np.full(hole.shape, -1)
    index[ys, xs] = np.arange(count)
    diagonal = np.zeros(count)
    rows, cols = [], []
    known_sum = np.zeros((count, values.shape[2]))
    for dy, dx in NEIGHBOURS:
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
        diagonal += inside
        pixel = np.nonzero(inside)[0]
        neighbour = index[ny[pixel], nx[pixel]]
        unknown = neighbour >= 0
        rows.append(pixel[unknown])
        cols.append(neighbour[unknown])
        known = pixel[~unknown]
        known_sum[known] += values[ny[known], nx[known]]
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    system = scipy.sparse.csc_matrix(
        (
            np.concatenate([diagonal, -np.ones(len(rows))]),
            (np.r_[np.arange(count), rows], np.r_[np.arange(count), cols]),
        ),
        shape=(count, count),
    )
    out = values.astype(np.float64, copy=True)
    out[ys, xs] = scipy.sparse.linalg.spsolve(system, known_sum).reshape(count, -1)
    return out


def blend_copy(picture: np.ndarray, copy: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """`copy` (H, W, C) inside `hole`, shifted by the harmonic correction that makes it meet `picture`
    at the rim. The copy must hold its own continuation on the pixels around the hole (OpenCV's
    shift-map writes a ring of them), so the rim's difference is the step a plain paste would show."""
    step = np.where(hole[..., None], 0.0, picture.astype(np.float64) - copy)
    return (copy + harmonic_fill(step, hole)).astype(picture.dtype)
