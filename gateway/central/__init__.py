"""The central-side consumer (`wardlink consume`), which the daemon never imports."""
