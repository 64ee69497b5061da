"""The pure core: standard library only, time passed in."""
