"""A search: planned from a Benchmark and the CLI's options, run on Ray Tune, recorded in MLflow.

    options.py      SearchOptions: what the user asked
    methods.py      the search algorithms and schedulers (the CLI's choices and help come from these tables)
    schedulers.py   the Ray Tune schedulers as built for a search (pbt's exploits recorded on the trial runs)
    plan.py         SearchPlan: the fixed config, what is swept, how many trials of how many epochs
    session.py      SearchSession: start or resume, then run (data, Ray, parent run, fit, finish)
    cluster.py      starting or joining Ray; the storage folder
    record.py       the search file that --resume reads
    tuner.py        the Tune Tuner: built new or restored
    results.py      results.csv, the best trial (or every trial) on the test split, the parent run's summary
    callbacks.py    Tune callbacks: a trial's MLflow run; stop signals
    optuna_searcher.py, coordinate.py, points.py   tunebench's own searchers (stateful.py: their base)
    study_session.py  a study (`tunebench study`): its tables' rows run as parts, each a SearchSession
    prefetch.py     `tunebench prefetch`
    compat.py       the import paths earlier versions pickled, for Tuner.restore
The package imports no Ray, torch or MLflow until a search runs (session.run_search): the CLI reads its tables.
"""

from tunebench.search.methods import SAMPLERS, SCHEDULERS, SEARCHES
from tunebench.search.options import SearchOptions
from tunebench.search.plan import SearchPlan, plan_search

__all__ = ["SAMPLERS", "SCHEDULERS", "SEARCHES", "SearchOptions", "SearchPlan", "plan_search"]
