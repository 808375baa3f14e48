#!/bin/sh
# Creates the Python virtualenv that the export tests read files back with, using the
# standard readers a trainer would use: pyarrow (Parquet), duckdb (SQL over Parquet) and
# Hugging Face datasets (load_dataset on an exported folder). test/exports/readers.test.ts
# runs "$VENV/bin/python" and fails, naming this script, when the venv is missing.
#
# Location (the same rule as the model cache, src/providers/local/model-cache.ts):
#   ${CONVOSIM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/convosim}/pyreaders
#
# Idempotent and quick the second time: a stamp file in the venv records the pinned
# requirements it was built with; when it matches, nothing is run. Versions are pinned so
# the readers the tests use do not drift under us. Python: $CONVOSIM_PYTHON or python3 (≥ 3.10).
# stdout: the venv path (only that). stderr: progress. Exit 1 on failure.
set -eu

REQUIREMENTS="pyarrow==26.0.1 duckdb==1.5.6 datasets==5.2.0"

CACHE="${CONVOSIM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/convosim}"
VENV="$CACHE/pyreaders"
STAMP="$VENV/.convosim-requirements"
PYTHON="${CONVOSIM_PYTHON:-python3}"

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$REQUIREMENTS" ]; then
  echo "$VENV"
  exit 0
fi

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "setup-python-readers: $PYTHON not found; install Python 3.10+ or set CONVOSIM_PYTHON" >&2
  exit 1
fi

mkdir -p "$CACHE"
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup-python-readers: creating $VENV" >&2
  "$PYTHON" -m venv "$VENV" >&2
fi
echo "setup-python-readers: installing $REQUIREMENTS" >&2
# The user's own pip settings (index, proxy, pip.conf) apply; quiet unless it fails.
# shellcheck disable=SC2086 # REQUIREMENTS is a space-separated list on purpose
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -q $REQUIREMENTS >&2; then
  echo "setup-python-readers: pip install failed (see above)" >&2
  exit 1
fi
"$VENV/bin/python" -c "import pyarrow.parquet, duckdb, datasets" >&2
printf '%s' "$REQUIREMENTS" >"$STAMP"
echo "setup-python-readers: ready" >&2
echo "$VENV"
