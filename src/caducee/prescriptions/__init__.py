"""Dematerialised prescriptions: deposit, card access, dispensing (issue #9)."""
