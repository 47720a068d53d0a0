"""Bundled resources (style sheets, icons, small files), loaded with importlib.resources."""
