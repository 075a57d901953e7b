"""The SalesPipeline operator's entry point: ``kopf run operators/salespipe_operator.py``.

Thin on purpose: the handlers and all logic live in ``salespipe.control``; importing
``salespipe.control.handlers`` registers them with kopf. ``salespipe operator run``
is the same operator with CLI options.
"""

from salespipe.control import handlers

__all__ = ["handlers"]
