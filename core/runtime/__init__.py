"""Runtime services for methods: progress, cancellation, device choice, tiling."""

from core.runtime.context import Progress, RunContext

__all__ = ["Progress", "RunContext"]
