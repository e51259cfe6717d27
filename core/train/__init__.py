"""Training: `lacuna train TASK` (see core.train.cli); recipes in core.train.recipes."""
