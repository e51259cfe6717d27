"""Benchmark protocols, one module per task: `lacuna bench TASK` calls `core.bench.<task>.main(argv)`."""
