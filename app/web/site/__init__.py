"""The workshop site (``waveqda site``): themes, quotes, the matrix, trajectories, scores beside themes and
memos in a browser, for people who read and discuss themes but never code. See ``app.web.site.app``."""
