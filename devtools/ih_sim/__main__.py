"""Serve the internet-hospital simulator: ``python -m devtools.ih_sim``."""

from __future__ import annotations

import os

from . import create_ih_sim_app

if __name__ == "__main__":
    port = int(os.environ.get("IH_SIM_PORT", "5082"))
    create_ih_sim_app().run(host="127.0.0.1", port=port, threaded=True)
