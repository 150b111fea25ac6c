"""Serve the low-code platform simulator: ``python -m devtools.lowcode_sim``."""

from __future__ import annotations

import os
from pathlib import Path

from . import LowcodeState, create_lowcode_sim_app

if __name__ == "__main__":
    instance = Path(os.environ.get("INSTANCE_PATH") or "instance")
    db = os.environ.get("LOWCODE_SIM_DB") or str(instance / "lowcode_sim.db")
    Path(db).parent.mkdir(parents=True, exist_ok=True)
    create_lowcode_sim_app(LowcodeState(db_path=db)).run(
        host="127.0.0.1", port=int(os.environ.get("LOWCODE_SIM_PORT", "5085")), threaded=True
    )
