"""`roost server` with the platform's fake algorithm (tests/platform/fake_algorithm.py) in place of the real
one, so that API tests run in a second instead of a training job's time. Same app, same uvicorn, same port
announcement; arguments: STATE_DIR DATA_ROOT STOP_GRACE_S. Endpoints run the real `roost serve`, replacing
a dead instance once only, so that tests see the endpoint fail after two deaths."""

from __future__ import annotations

import sys
from pathlib import Path

from roost.api.app import create_app
from roost.http_listener import listen, serve
from roost.platform.services import Platform
from roost.platform.storage import Storage

FAKE_ALGORITHM = (sys.executable, str(Path(__file__).parents[1] / "platform" / "fake_algorithm.py"))

state_dir, data_root, grace = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
platform = Platform.open(
    state_dir,
    Storage(data_root, confined=True),
    command=FAKE_ALGORITHM,
    stop_grace_s=grace,
    endpoint_options={"max_restarts": 1, "poll_s": 0.2},
)
listener = listen("127.0.0.1", 0)
print(f"roost server listening on http://127.0.0.1:{listener.getsockname()[1]}", file=sys.stderr, flush=True)
serve(create_app(platform), listener)
