"""RQ jobs. The worker process builds its collaborators once at start-up and hands them in
through ``bot.jobs.context``; nothing is built at import time."""
