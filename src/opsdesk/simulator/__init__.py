"""The store simulator: a store on a virtual clock, its signed Shopify deliveries, injected incidents,
simulated people working the queue, and the scorecard that compares what happened with what opsdesk did.

- ``scenario``: the YAML scenario (store size, speed, staffing, incidents), errors with file:line:column;
- ``calibration``: the parameters fitted on the real datasets (``scripts/calibrate_simulator.py``);
- ``store``: the store model, which yields deliveries in virtual-time order and keeps the ground truth;
- ``shaping``: Shopify-shaped payloads from Shopify's own samples, signed, duplicated and reordered;
- ``incidents``: the incident kinds, what each does to the store, and what counts as catching it;
- ``people``: simulated people working the queue at a configurable pace;
- ``feed``: the store run in a second process, its deliveries sent ahead of the desk;
- ``runner``: drives a desk in process on a virtual clock, or a server over HTTP;
- ``scorecard``: the comparison of ground truth with the desk's records.
"""
