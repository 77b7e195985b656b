"""The prescriber's and the pharmacist's side of e-prescriptions in the agent (issue #9)."""

__all__: list[str] = []
