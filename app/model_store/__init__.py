"""The model manager's core: which files each LTX version needs (catalog), what a models folder holds
(folder), and fetching the missing ones from Hugging Face on request (download). Qt-free except ``worker``
(a QtCore thread that runs a download and reports progress). The engine never touches the network; only
this package does, and only when the user asks for a download.
"""
