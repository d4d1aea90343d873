"""Helpers the tests (and the benchmarks) share: the command line in a subprocess (``cli``), services on
127.0.0.1 (``services``, ``feed_server``) and a synthetic corpus with known duplicates (``corpus``)."""
