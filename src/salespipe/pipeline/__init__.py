"""The steps in order, and the figures each layer reports."""
