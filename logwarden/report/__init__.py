"""Reports a person opens: the self-contained HTML alert report (`hunt --format html`)."""
