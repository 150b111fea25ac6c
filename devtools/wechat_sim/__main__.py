"""``python -m devtools.wechat_sim``: serve the simulator (configuration from the environment)."""

from __future__ import annotations

import logging
import os
import sys

from werkzeug.serving import make_server

from . import create_sim_app
from .config import SimConfig


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = SimConfig.from_env(os.environ)
    app = create_sim_app(config)
    server = make_server(config.host, config.port, app, threaded=True)
    base = f"http://{config.host}:{server.server_port}"
    print(f"微信模拟器已启动：{base}/phone", flush=True)
    print(f"  WECHAT_API_BASE={base}/mp   WECOM_API_BASE={base}/work", flush=True)
    print(f"  回调发往 {config.product_base_url}/wechat/mp 与 /wechat/work", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
