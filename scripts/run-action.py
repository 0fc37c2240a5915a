"""Entry point of the composite action's run step: `python -I scripts/run-action.py`.

`-I` (isolated mode) keeps the working directory, which is the user's checkout and may hold PR
code, off `sys.path`, and ignores `PYTHON*` variables; a plain `python -m evals_action` would put
the checkout first, so a `click.py` in a pull request would run with the job's secrets. The
action's own code is added explicitly from this file's location, and the dependencies come from
the action's virtualenv.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from evals_action.cli import AS_ACTION, main  # noqa: E402  (needs the path above)

# `obj=AS_ACTION`: messages name the action's inputs (`prompt-id`), not the CLI's options.
main(args=["run", *sys.argv[1:]], prog_name="evals-action", obj=AS_ACTION)
