"""Browser front ends: the workspace served through textual-serve (``serve``) and the workshop site."""
