"""Tables of the operator's console (registered on ``Base.metadata``)."""
