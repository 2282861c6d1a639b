"""Chain of custody of a register entry's item (case property, a file): where it is, since when, and every hand-over."""
