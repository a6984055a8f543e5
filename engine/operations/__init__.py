"""Service-task operations, one module per capability, driven by the job runner in three phases."""
