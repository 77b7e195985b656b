"""Policy: the content rules the agent applies, and patient matching. Pure functions."""
