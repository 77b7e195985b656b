"""The network's figures: rollups kept as events happen, reports, charts (issue #7)."""
