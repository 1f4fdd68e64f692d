import gc

from api.app import create_app
from api.config import settings_from_environment
from api.logs import configure_logging_from

# Before the app is made, so its own start-up lines come out in the chosen format (REACHABLE_LOG_FORMAT).
configure_logging_from(settings_from_environment())
app = create_app()
# Everything made at start-up lives as long as the process: keep it out of the garbage collector's full
# collections, which otherwise walk it all and took ~100 ms of a dashboard request now and then (bench/README.md).
gc.freeze()
