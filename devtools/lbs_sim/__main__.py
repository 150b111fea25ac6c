"""Serve the Tencent Location Service simulator: ``python -m devtools.lbs_sim``."""

from __future__ import annotations

import os

from . import create_lbs_sim_app

if __name__ == "__main__":
    create_lbs_sim_app().run(
        host="127.0.0.1", port=int(os.environ.get("LBS_SIM_PORT", "5084")), threaded=True
    )
