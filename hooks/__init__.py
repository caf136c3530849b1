"""Copier hooks: importable, unit-tested functions behind thin entry-point scripts."""
