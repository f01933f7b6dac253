"""Data access: plain async functions with keyword-only arguments, one module per object.

Each write function runs inside the caller's `db.write_session` transaction; domain rules come
from `app.domain`, never from the caller.
"""
