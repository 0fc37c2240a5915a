"""The suite runner (suites-contract §1, §2, §4, §5): several prompts and repeats in one step.

- `attempt`: one run of one prompt, driven by the one-run engine (`starting`, `polling.Poller`,
  `outcome`), in a worker thread with its own HTTP session and backend;
- `scheduler`: which run starts when (concurrency, runs of one prompt one after another unless
  the server advertises `X-Evals-Suites: 1`, one retry of a failed run, budget, deadline);
- `sample`: the per-prompt numbers (pass rate with its Wilson interval, mean score with its t
  interval), until issue 11's `stats` replaces them;
- `report`: statuses, outputs, the results document, JUnit XML and the summary/comment;
- `flow`: the step, from `action.py`'s prepared target to the exit code, and its dry run.
"""
