"""Tables of the prescriptions service (registered on ``Base.metadata``)."""
