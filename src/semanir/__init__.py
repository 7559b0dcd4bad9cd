"""semanir: SemanIR (NeurIPS 2024), key-semantic dictionary attention for image restoration."""

from . import models as _models  # noqa: F401  (registers the models)
from . import tasks as _tasks  # noqa: F401  (registers the tasks)
from .pretrained import list_presets
from .registry import create_model, list_models, model_entry
from .restoration import Restorer, load

__version__ = "0.1.0"

__all__ = ["Restorer", "__version__", "create_model", "list_models", "list_presets", "load", "model_entry"]
