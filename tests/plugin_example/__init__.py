"""A tiny third-party backend package, used to prove the plug-in path (docs/backends.md)."""
