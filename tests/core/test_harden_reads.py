"""Issue 20: hostile and broken inputs are refused or reported, with the file and what is wrong."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

import core.io as io
from core.errors import TooLargeError


def test_nifti2_dimensions_of_2_to_the_32_do_not_overflow_the_size_check(tmp_path):
    header = nib.Nifti2Header()
    header.set_data_dtype(np.uint8)
    header["dim"][:4] = [3, 2**32, 2**32, 1]  # 2^64 voxels: an int64 product wraps to 0
    header["vox_offset"] = 544
    path = tmp_path / "huge.nii"
    path.write_bytes(header.binaryblock + bytes(4 + 64))
    with pytest.raises(TooLargeError, match=r"huge\.nii: declares 18,446,744,073,709,551,616 pixels"):
        io.read(path)
