"""Data that installs with Lacuna as the package `lacuna_resources`: shipped weights with their model
cards (weights/) and sample files (samples/). Code finds them with `core.methods.weights`."""
