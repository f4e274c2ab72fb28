"""Run-time data files as package data: the wheel carries this folder as ``app.resources`` (see setup.py
and app/package_data.py). No code."""
