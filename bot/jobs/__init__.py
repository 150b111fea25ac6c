"""RQ jobs. Each process builds its container once at start-up (``server.bootstrap``) and
installs it; jobs read it with ``bot.container.current()``. Nothing is built at import time."""
