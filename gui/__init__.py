"""Qt views and controllers for Linear Classifier Lab. No math here: everything calls ``core``."""
