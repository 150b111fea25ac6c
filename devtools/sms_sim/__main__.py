"""Serve the SMS simulator: ``python -m devtools.sms_sim``."""

from __future__ import annotations

import os

from . import create_sms_sim_app

if __name__ == "__main__":
    create_sms_sim_app().run(
        host="127.0.0.1", port=int(os.environ.get("SMS_SIM_PORT", "5083")), threaded=True
    )
