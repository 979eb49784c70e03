"""Demo backends: each module defines ``open_backend(data_dir, port)``.

``open_backend`` is a context manager that starts whatever the backend needs
and yields an object with ``.saver`` (a LangGraph checkpointer) and
``.describe_storage()`` (rows of what is stored where, for the final table).
"""
