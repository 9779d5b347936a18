"""Publishing layer: recorded metrics, figures, notebook runs, the site and student copies."""
