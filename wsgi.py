import gc

from api.app import create_app

app = create_app()
# Everything made at start-up lives as long as the process: keep it out of the garbage collector's full
# collections, which otherwise walk it all and took ~100 ms of a dashboard request now and then (bench/README.md).
gc.freeze()
