"""Python subprocesses started by the tests get the same network guard (see network_guard.py)."""

import os

if os.environ.get("GLASSNET_TEST_NETWORK_GUARD") == "1":
    import network_guard

    network_guard.install()
