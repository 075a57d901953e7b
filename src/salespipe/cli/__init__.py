"""Thin command-line entry points: parse flags, call the package, render results."""
