"""pySigma processing pipelines as data (the *.yml beside this file) and their loader."""
