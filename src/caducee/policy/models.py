"""Tables of the policy part: establishments' charter, limits, holds, moderation, reports."""
