"""Tasks by name. The table itself lives in :mod:`semanir.data.protocols`, below the tasks, so that
``get_protocol`` and the benchmark sets reach a task without importing this package."""

from __future__ import annotations

from ..data.protocols import register_task, task_names, task_spec

register = register_task
get_task = task_spec


def list_tasks() -> list[str]:
    """The registered task names, in registration order."""
    return list(task_names())


__all__ = ["get_task", "list_tasks", "register"]
