"""Building a Beam graph without the work Beam repeats: two pure lookups it redoes at every call, kept.

Beam 2.78 spends about 1.5 s of CPU building and translating this project's batch graph for five files
(a run of the seeds in a process that has its model loaded: 3.0-3.4 s in all, 1.5-2.0 s with these caches):
- a DoFn's state and timer specs: ``userstate.get_dofn_specs`` takes every method of the DoFn apart
  (``inspect.signature``) each time it is asked, and it is asked about eight times per ``ParDo``
  (``is_stateful_dofn``, ``validate_stateful_dofn``, translation): 32,000 signatures for the batch graph.
  Canary: ``tests/test_beam_defects.py::test_a_dofns_state_specs_are_derived_again_at_every_call``.
- an options view: ``PipelineOptions.view_as`` builds an argument parser and parses the flags again each
  time, and every type check (``typehints.is_consistent_with``) asks for one: 1,700 parses per graph.
  Canary: ``tests/test_beam_defects.py::test_every_type_check_parses_the_options_again``.

Both answers depend only on the object asked about, so each is kept for that very object (a DoFn that
compares by identity, as ``beam.DoFn`` does; an options object with the same flags and values behind it)
and given again. ``keep_repeated_lookups()`` installs both, once per process;
``pipelines.adapter.adapted_runner`` calls it for every job, whatever its runner.
"""

from __future__ import annotations

import threading
import weakref

from apache_beam.options import pipeline_options
from apache_beam.runners.direct import transform_evaluator
from apache_beam.transforms import userstate

_installing = threading.Lock()
_ORIGINAL_SPECS = userstate.get_dofn_specs
_ORIGINAL_VIEW_AS = pipeline_options.PipelineOptions.view_as
_SPECS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_VIEWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_dofn_specs(dofn):
    """``userstate.get_dofn_specs``, derived once per DoFn; every time for a DoFn that compares by value
    (two equal DoFns may differ in their state) or cannot be a weak key. Callers get sets of their own."""
    kind = type(dofn)
    if kind.__eq__ is not object.__eq__ or kind.__hash__ is not object.__hash__:
        return _ORIGINAL_SPECS(dofn)
    try:
        states, timers = _SPECS[dofn]
    except KeyError:
        states, timers = _SPECS[dofn] = _ORIGINAL_SPECS(dofn)
    except TypeError:
        return _ORIGINAL_SPECS(dofn)
    return set(states), set(timers)


def view_as(self, cls):
    """``PipelineOptions.view_as``, built once per options object and class while the object keeps the
    same flags and values (a view holds nothing else: its attributes read and write those values)."""
    try:
        views = _VIEWS.setdefault(self, {})
    except TypeError:
        return _ORIGINAL_VIEW_AS(self, cls)
    kept = views.get(cls)
    if kept is not None and kept._flags is self._flags and kept._all_options is self._all_options:
        return kept
    view = views[cls] = _ORIGINAL_VIEW_AS(self, cls)
    return view


def keep_repeated_lookups() -> None:
    with _installing:
        if userstate.get_dofn_specs is get_dofn_specs:
            return
        userstate.get_dofn_specs = get_dofn_specs
        transform_evaluator.get_dofn_specs = get_dofn_specs  # imported by name there
        pipeline_options.PipelineOptions.view_as = view_as
