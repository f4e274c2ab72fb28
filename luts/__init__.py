"""The shipped looks as package data: the wheel carries this folder as ``app.luts`` (see setup.py and
app/package_data.py). No code; ``make_looks.py`` is run as a script."""
