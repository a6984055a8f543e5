"""Service-task operations, one module per capability, driven by the job runner in three phases.

Each module declares its operations in an `OPERATIONS` tuple, registered by a plain import in
the composition root (`engine/bootstrap.py`). A module imports the heavy library of its work
(pyHanko, lxml, httpx, SpiffWorkflow…) where the work is done, through the leaf packages' lazy
names or inside the function: importing every operation stays cheap for the web process and the
worker (`tests/engine/test_operation_modules.py`)."""
