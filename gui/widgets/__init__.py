"""Small reusable widgets: log-scale slider, image grid, numpy -> QImage."""
