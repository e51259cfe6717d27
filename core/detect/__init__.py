"""Damage detection: propose the mask of scratches, creases, dust and stains instead of asking for it."""
