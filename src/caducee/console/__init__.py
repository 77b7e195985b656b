"""The operator's console: establishments and the charter, moderation, figures (issue #7)."""
