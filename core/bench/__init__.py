"""Benchmark protocols, one module per task: `lacuna bench TASK` calls `core.bench.<task>.main(argv)`."""

# The tasks `lacuna bench` runs (the modules here with a `main`; a test keeps the two in step), named
# in its help without importing them.
PROTOCOLS = (
    "batch",
    "dejpeg",
    "denoise",
    "denoise-memory",
    "detect",
    "fill-frames",
    "fill-gap",
    "fill-slice",
    "inpaint",
    "speech",
    "upscale",
)
