"""inpaint-slices' uncertainty map slice by slice on holes several slices deep: its mean against the
fill's error on each slice. A disk of radius 20 px at (column 300, row 200) of the head CT over slices
8-13 and 16-20 (and slice 10 alone), and four 40x40 boxes 4-7 slices deep in the body of shear.

    OMP_NUM_THREADS=2 python scripts/inpaint_slices_deep_map.py
"""

import numpy as np

from core.io import read
from core.repair import run_repair

ct = read("../shared/datasets/medical/head_ct_ge")
rows, cols = np.mgrid[0 : ct.pixels.shape[1], 0 : ct.pixels.shape[2]]
disk = (cols - 300) ** 2 + (rows - 200) ** 2 <= 20 * 20
cases = []
for name, ks in (("deep6", range(8, 14)), ("deep5b", range(16, 21)), ("single", [10])):
    m = np.zeros(ct.pixels.shape[:3], bool)
    m[list(ks)] = disk
    cases.append((ct, m, name))
shear = read("../shared/datasets/medical/shear.nii.gz")
rng = np.random.default_rng(3)
v = shear.pixels[..., 0]
body = v > np.percentile(v, 60)
for n in range(4):
    while True:
        d = int(rng.integers(4, 8))
        k = int(rng.integers(3, v.shape[0] - d - 3))
        j = int(rng.integers(0, v.shape[1] - 40))
        i = int(rng.integers(0, v.shape[2] - 40))
        if body[k : k + d, j : j + 40, i : i + 40].mean() > 0.5:
            break
    m = np.zeros(v.shape, bool)
    m[k : k + d, j : j + 40, i : i + 40] = True
    cases.append((shear, m, f"shear{n}"))
allerr, allmap = [], []
for doc, m, name in cases:
    out = run_repair(doc, "inpaint", method="inpaint-slices", mask=m)
    err = np.abs(out.pixels - doc.pixels)[..., 0]
    e = [err[k][m[k]].mean() for k in range(len(m)) if m[k].any()]
    u = [out.uncertainty[k][m[k]].mean() for k in range(len(m)) if m[k].any()]
    allerr += e
    allmap += u
    print(
        name,
        "err",
        " ".join(f"{x:.1f}" for x in e),
        "| map",
        " ".join(f"{x:.1f}" for x in u),
        "| ratio %.2f" % (np.mean(u) / np.mean(e)),
    )
le, lm = np.log(allerr), np.log(allmap)
correlation, spread = np.corrcoef(le, lm)[0, 1], np.median(np.abs(lm - le))
print(f"per-slice log correlation {correlation:.3f}, median |log ratio| {spread:.3f}")
