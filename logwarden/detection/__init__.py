"""Sigma detection: one compiled rule set (compiler), shared evaluation and correlation code,
and the three runners (hunt, stream, es)."""
