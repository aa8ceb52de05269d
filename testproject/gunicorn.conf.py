"""gunicorn configuration: bind 0.0.0.0:$PORT (Dockerflow: listen on $PORT)."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
accesslog = None  # request.summary is the access log
errorlog = "-"
timeout = 30
graceful_timeout = 20
# gunicorn 27 opens a control socket at one fixed path under $HOME, shared by
# every gunicorn on the machine; a container needs none. Older releases ignore it.
control_socket_disable = True
