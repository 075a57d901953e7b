"""The SalesPipeline operator's entry point, thin on purpose: handlers and logic live in
``salespipe.control``.

* ``python operators/salespipe_operator.py [-n NAMESPACE ...]``: the operator process
  (the container's command), same as ``salespipe operator run``;
* ``kopf run operators/salespipe_operator.py``: kopf's own runner; importing this file
  registers the handlers.
"""

if __name__ == "__main__":
    from salespipe.control.run import main

    main()  # imports the handlers itself, after trimming what kopf would import
else:
    from salespipe.control import handlers

    __all__ = ["handlers"]
