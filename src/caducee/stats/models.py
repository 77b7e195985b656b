"""Tables of the statistics rollups (registered on ``Base.metadata``)."""
