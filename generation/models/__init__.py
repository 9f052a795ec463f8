"""Neural models of ``generation``: one small module per architecture, sharing embeddings, heads and config.

``build_model(arch, model_io, config)`` builds any of ``ARCHITECTURES``; every model follows
:class:`generation.models.base.SequenceModel` (training forward, loss, statistics, stateful stepping).
"""

from generation.models.base import SequenceModel
from generation.models.io import IGNORE_INDEX, ModelIO
from generation.models.registry import ARCHITECTURES, Architecture, build_model

__all__ = ["ARCHITECTURES", "IGNORE_INDEX", "Architecture", "ModelIO", "SequenceModel", "build_model"]
