"""Neural models of ``generation``: one small module per architecture, sharing embeddings, heads and config."""
